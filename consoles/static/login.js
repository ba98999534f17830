// Console sign-in: posts JSON (with X-Requested-With, which a form on another site
// cannot send), then goes to the page asked for in ?next= or the account's console.
"use strict";

(function () {
  const form = document.getElementById("login-form");
  const username = document.getElementById("username");
  const password = document.getElementById("password");
  const code = document.getElementById("code");
  const errorBox = document.getElementById("login-error");
  const statusBox = document.getElementById("login-status");
  const submit = document.getElementById("login-submit");

  const HOME = { interpreter: "/interpreter", staff: "/staff", admin: "/admin" };

  // Only a path on this site: "/x", never "//host" or "/\host" (both leave the site).
  function safeNext(raw) {
    if (typeof raw !== "string" || !raw.startsWith("/")) return null;
    if (raw.startsWith("//") || raw.startsWith("/\\")) return null;
    if (/[\u0000-\u001f]/.test(raw)) return null;
    return raw;
  }

  function destination(role) {
    const next = safeNext(new URLSearchParams(window.location.search).get("next"));
    return next || HOME[role] || "/";
  }

  function showError(text) {
    errorBox.textContent = text;
    statusBox.textContent = "";
    const invalid = text ? "true" : "false";
    username.setAttribute("aria-invalid", invalid);
    password.setAttribute("aria-invalid", invalid);
    code.removeAttribute("aria-invalid");
  }

  async function detail(response) {
    try {
      const body = await response.json();
      if (typeof body.detail === "string") return body.detail;
    } catch (_) {
      // not JSON: fall through to the general message
    }
    return "로그인하지 못했습니다. 다시 해 주세요. / Could not sign in. Please try again.";
  }

  // Already signed in (e.g. the back button): go on without asking again.
  fetch("/api/auth/me", { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : null))
    .then((body) => {
      if (body && body.account) window.location.replace(destination(body.account.role));
    })
    .catch(() => {});

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!username.value.trim() || !password.value) {
      showError("아이디와 비밀번호를 입력하세요. / Enter your username and password.");
      (username.value.trim() ? password : username).focus();
      return;
    }
    showError("");
    submit.disabled = true;
    statusBox.textContent = "로그인하는 중… / Signing in…";
    try {
      const response = await fetch("/api/auth/login", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-Requested-With": "sotong" },
        body: JSON.stringify({
          username: username.value.trim(),
          password: password.value,
          code: code.value.trim() || null,
        }),
      });
      if (!response.ok) {
        showError(await detail(response));
        code.value = "";
        if (response.headers.get("X-Sotong-Second-Factor") === "needed") {
          // The password was right: only the one-time code is missing or wrong.
          code.setAttribute("aria-invalid", "true");
          code.focus();
        } else {
          password.value = "";
          password.focus();
        }
        return;
      }
      const body = await response.json();
      statusBox.textContent = "로그인했습니다. 이동합니다. / Signed in. Opening your console.";
      window.location.assign(destination(body.account.role));
    } catch (_) {
      showError("서버에 연결하지 못했습니다. / Cannot reach the server.");
    } finally {
      submit.disabled = false;
    }
  });
})();
