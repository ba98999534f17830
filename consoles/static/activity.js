// Keeps a console sign-in alive while its person is at it (review M5, L14).
// The server ends a sign-in after SOTONG_CONSOLE_IDLE_MINUTES without activity; the
// pages' own refreshes (the queue, the transcript) do not count, or an abandoned
// screen would stay signed in for ever. Activity is a key, a pointer, a scroll or a
// touch on the page, or a video call on screen; at most one report a minute.
"use strict";

(function () {
  const EVERY_MS = 60 * 1000;
  let acted = false;
  let csrf = null;

  for (const type of ["keydown", "pointerdown", "wheel", "touchstart"]) {
    document.addEventListener(type, () => { acted = true; }, { capture: true, passive: true });
  }

  function videoOnScreen() {
    return Array.from(document.querySelectorAll("video"))
      .some((video) => video.srcObject && !video.paused);
  }

  async function csrfToken() {
    if (csrf) return csrf;
    const response = await fetch("/api/auth/me", { credentials: "same-origin" });
    if (!response.ok) return null;  // signed out: the page's own calls will say so
    csrf = (await response.json()).csrf_token;
    return csrf;
  }

  async function report() {
    if (!acted && !videoOnScreen()) return;
    acted = false;
    const token = await csrfToken();
    if (!token) return;
    const response = await fetch("/api/auth/activity", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": token },
    });
    if (response.status === 403) csrf = null;  // signed in again elsewhere: new token
  }

  setInterval(() => { report().catch(() => {}); }, EVERY_MS);
})();
