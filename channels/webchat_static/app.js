// Sotong web chat: a small client of the gateway's JSON API and push WebSocket.
"use strict";
(function () {
  const LABELS = {
    ko: { title: "소통 민원 도우미", text: "메시지", send: "보내기", person: "상담원 · 수어 통역 요청",
          you: "나", bot: "소통", sending: "보내는 중…", failed: "보내지 못했습니다. 다시 보내기를 눌러 주세요.", retry: "다시 보내기" },
    en: { title: "Sotong civil-service helper", text: "Message", send: "Send", person: "Talk to a person · sign-language interpreter",
          you: "You", bot: "Sotong", sending: "Sending…", failed: "Not sent. Press retry.", retry: "Retry" },
  };
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  let language = "ko";
  let sessionId = localStorage.getItem("sotong.session");
  // A link texted from a call or an SMS carries the conversation to continue.
  const linked = new URLSearchParams(location.search).get("session");
  if (linked && /^[0-9a-f]{32}$/.test(linked)) {
    sessionId = linked;
    localStorage.setItem("sotong.session", linked);
    history.replaceState(null, "", location.pathname);
  }
  let lastId = 0;
  const shown = new Set();

  function applyLanguage(lang) {
    language = lang === "en" ? "en" : "ko";
    const t = LABELS[language];
    document.documentElement.lang = language;
    document.getElementById("title").textContent = t.title;
    document.getElementById("text-label").textContent = t.text;
    document.getElementById("send").textContent = t.send;
    document.getElementById("person").textContent = t.person;
  }

  function show(message) {
    if (message.id != null) {
      if (shown.has(message.id)) return;
      shown.add(message.id);
      lastId = Math.max(lastId, message.id);
    }
    const item = document.createElement("li");
    item.className = message.sender;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = message.sender === "bot" ? LABELS[language].bot : LABELS[language].you;
    item.append(who, document.createTextNode(message.text));
    if (message.buttons && message.buttons.length) {
      const choices = document.createElement("div");
      choices.className = "choices";
      for (const b of message.buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.addEventListener("click", () => send(b.title, b.payload));
        choices.append(button);
      }
      item.append(choices);
    }
    log.append(item);
    item.scrollIntoView({ block: "end" });
  }

  async function api(path, options) {
    const response = await fetch(path, { headers: { "content-type": "application/json" }, ...options });
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }

  async function ensureSession() {
    if (sessionId) {
      try {
        const t = await api(`/api/webchat/sessions/${sessionId}/messages`);
        applyLanguage(t.language);
        t.messages.forEach(show);
        return;
      } catch (e) { sessionId = null; }
    }
    const s = await api("/api/webchat/sessions", { method: "POST", body: JSON.stringify({ language }) });
    sessionId = s.session_id;
    localStorage.setItem("sotong.session", sessionId);
  }

  async function send(text, payload) {
    const clientId = `c${Date.now()}${Math.random().toString(16).slice(2, 8)}`;
    status.textContent = LABELS[language].sending;
    const body = JSON.stringify({ text, payload: payload || null, client_message_id: clientId });
    try {
      const result = await api(`/api/webchat/sessions/${sessionId}/messages`, { method: "POST", body });
      show({ id: result.inbound_id, sender: "citizen", text });
      applyLanguage(result.language);
      result.messages.forEach(show);
      status.textContent = "";
    } catch (e) {
      status.textContent = LABELS[language].failed;
      const retry = document.createElement("button");
      retry.type = "button";
      retry.textContent = LABELS[language].retry;
      retry.addEventListener("click", () => { retry.remove(); send(text, payload); });
      status.append(" ", retry);
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/webchat/sessions/${sessionId}/ws`);
    socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.type === "message") show(data.message);
    };
    socket.onclose = () => setTimeout(async () => {
      try {
        const t = await api(`/api/webchat/sessions/${sessionId}/messages?after=${lastId}`);
        t.messages.forEach(show);
      } catch (e) { /* the server is still away; try again */ }
      connect();
    }, 2000);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text, null);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  document.getElementById("person").addEventListener("click", (event) => {
    send(event.currentTarget.textContent, event.currentTarget.dataset.payload);
  });

  ensureSession().then(connect).catch(() => { status.textContent = LABELS[language].failed; });
})();
