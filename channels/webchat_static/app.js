// Sotong web chat: a small client of the gateway's JSON API and push WebSocket.
"use strict";
(function () {
  const LABELS = {
    ko: { title: "소통 민원 도우미", text: "메시지", send: "보내기", person: "상담원 · 수어 통역 요청",
          you: "나", bot: "소통", human: "상담사", sending: "보내는 중…", failed: "보내지 못했습니다. 다시 보내기를 눌러 주세요.", retry: "다시 보내기",
          cancel: "요청 취소", queued: (p, m) => p === 1 ? `다음 차례입니다. 약 ${m}분 남았습니다.` : `${p}번째로 기다리는 중입니다. 약 ${m}분 남았습니다.`,
          nobody: "지금은 연결할 수 있는 사람이 없습니다.", scheduled: "예약되었습니다.", joined: "상담사와 대화 중입니다." },
    en: { title: "Sotong civil-service helper", text: "Message", send: "Send", person: "Talk to a person · sign-language interpreter",
          you: "You", bot: "Sotong", human: "Person", sending: "Sending…", failed: "Not sent. Press retry.", retry: "Retry",
          cancel: "Cancel request", queued: (p, m) => p === 1 ? `You are next. About ${m} minutes.` : `You are number ${p} in the queue. About ${m} minutes.`,
          nobody: "Nobody can join right now.", scheduled: "Your appointment is booked.", joined: "You are talking with a person." },
  };
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const handoff = document.getElementById("handoff");
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
    const t = LABELS[language];
    who.textContent = message.sender === "bot" ? t.bot : message.sender === "person" ? t.human : t.you;
    item.append(who, ...withLinks(message.text));
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

  // Links in a message (a video call link from a person) can be opened.
  function withLinks(text) {
    const parts = [];
    let last = 0;
    for (const match of text.matchAll(/(https?:\/\/[^\s]+|\/video\/\d+\?t=[^\s]+)/g)) {
      parts.push(document.createTextNode(text.slice(last, match.index)));
      const a = document.createElement("a");
      a.href = match[0];
      a.textContent = match[0];
      a.target = "_blank";
      a.rel = "noopener";
      parts.push(a);
      last = match.index + match[0].length;
    }
    parts.push(document.createTextNode(text.slice(last)));
    return parts;
  }

  // The request for a person: place, wait, and a way to cancel, always in view.
  function showHandoff(state) {
    handoff.replaceChildren();
    if (!state) { handoff.hidden = true; return; }
    const t = LABELS[language];
    const line = document.createElement("span");
    if (state.state === "accepted" || state.state === "in_session") line.textContent = t.joined;
    else if (state.contact) line.textContent = t.scheduled;
    else if (state.wait_minutes == null) line.textContent = t.nobody;
    else line.textContent = t.queued(state.position, state.wait_minutes);
    handoff.append(line);
    if (state.state === "waiting" || state.state === "offered") {
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.textContent = t.cancel;
      cancel.addEventListener("click", () => send(t.cancel, "sotong:handoff:cancel"));
      handoff.append(" ", cancel);
    }
    handoff.hidden = false;
  }

  async function refreshHandoff() {
    try {
      const h = await api(`/api/webchat/sessions/${sessionId}/handoff`);
      showHandoff(h.status);
    } catch (e) { /* shown again on the next change */ }
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
      refreshHandoff();
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
      else if (data.type === "handoff") showHandoff(data.status);
      else if (data.type === "handoff_changed") refreshHandoff();
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

  ensureSession().then(() => { connect(); refreshHandoff(); }).catch(() => { status.textContent = LABELS[language].failed; });
})();
