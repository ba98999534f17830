// Sotong web chat: a small client of the gateway's JSON API and push WebSocket.
// No framework, no build step. Loaded in <head> without `defer`, so the remembered
// display settings apply before the first paint; the page itself starts once the
// document is parsed (after speech.js, which is deferred).
"use strict";
(function () {
  const KEYS = {
    session: "sotong.session",
    display: "sotong.display",
    language: "sotong.language",
    outbox: "sotong.outbox",
  };
  const root = document.documentElement;

  function load(key, fallback) {
    try {
      const raw = localStorage.getItem(key);
      return raw ? JSON.parse(raw) : fallback;
    } catch (e) {
      return fallback;
    }
  }
  function save(key, value) {
    try {
      if (value == null) localStorage.removeItem(key);
      else localStorage.setItem(key, typeof value === "string" ? value : JSON.stringify(value));
    } catch (e) { /* private mode or full: the page still works, it just forgets */ }
  }
  function media(query) {
    return !!(window.matchMedia && window.matchMedia(query).matches);
  }

  // ---- before the first paint ------------------------------------------------------
  const display = load(KEYS.display, {}) || {};
  // Nothing chosen yet: high contrast follows the system's "more contrast" wish.
  if (!display.highContrastChosen) display.highContrast = media("(prefers-contrast: more)");
  root.classList.toggle("high-contrast", display.highContrast);
  root.classList.toggle("large-text", !!display.largeText);
  root.classList.toggle("easy-read", !!display.easyRead);
  let storedLanguage = null;
  try { storedLanguage = localStorage.getItem(KEYS.language); } catch (e) { /* none */ }
  if (storedLanguage === "en") root.lang = "en";

  // ---- texts ---------------------------------------------------------------------
  const LABELS = {
    ko: {
      pageTitle: "소통 민원 도우미 · Sotong",
      title: "소통 민원 도우미",
      subtitle: "궁금한 민원을 편하게 물어보세요.",
      other: "English is fine too.",
      otherName: "English",
      skip: "입력창으로 건너뛰기",
      settings: "설정",
      display: "화면",
      highContrast: "고대비 (검은 바탕에 밝은 글자)",
      largeText: "큰 글자",
      replies: "답변",
      easyRead: "쉬운 말 (짧은 단계와 그림)",
      easyReadHint: "답변을 짧은 단계로 하나씩 보여 줍니다.",
      readAloud: "답변을 소리로 읽어 주기",
      close: "닫기",
      helpHeading: "사람에게 도움 받기",
      helpPerson: "상담원 · 수어 통역 요청",
      helpPersonSays: "상담원 · 수어 통역 요청",
      helpSign: "수어 통역사 요청",
      helpSignSays: "수어 통역 요청",
      quickHeading: "자주 찾는 민원",
      services: {
        resident_registration_copy: "주민등록등본",
        move_in_report: "전입신고",
        basic_pension: "기초연금",
        disability_registration: "장애인 등록",
        birth_report: "출생신고",
      },
      // The seeds' customised services: life-event checklists, screenings, reminders.
      offersHeading: "나에게 맞는 안내",
      offers: {
        life_events: "생활 속 큰일",
        find_services: "나에게 맞는 서비스 찾기",
        reminders: "기한 알림",
      },
      conversation: "대화 내용",
      text: "메시지",
      placeholder: "예: 기초연금은 어떻게 신청하나요?",
      textHint: "Enter: 보내기 · Shift+Enter: 줄 바꿈",
      send: "보내기",
      mic: "말로 하기",
      micStop: "녹음 끝내기",
      micCancel: "녹음 취소",
      voiceUndo: "들은 말 지우기",
      newWindow: "새 창에서 열립니다",
      you: "나",
      bot: "소통",
      person: "상담원·통역사",
      state: { sending: "보내는 중…", sent: "보냄", failed: "보내지 못함" },
      retry: "다시 보내기",
      listen: "듣기",
      listenStop: "멈추기",
      sendingNow: "보내는 중…",
      failedNow: "보내지 못했습니다. 연결되면 차례대로 다시 보냅니다. ‘다시 보내기’를 눌러도 됩니다.",
      waiting: (n) => `아직 보내지 못한 글이 ${n}개 있습니다. 연결되면 차례대로 보냅니다.`,
      rejected: "이 글은 보낼 수 없었습니다. 고쳐서 다시 써 주세요.",
      reconnecting: "연결이 끊겼습니다. 다시 연결하는 중입니다. 쓴 글은 보관했다가 보냅니다.",
      reconnected: "다시 연결되었습니다.",
      linkRefused: "받으신 링크는 기한이 지났거나 이미 쓰였습니다. 여기서 새로 물어보세요.",
      recording: "녹음 중입니다. 다 말했으면 ‘녹음 끝내기’를 누르세요. Esc를 누르면 취소합니다.",
      recognising: "들은 말을 글로 바꾸는 중…",
      heard: (t) => `들은 말: “${t}”. 입력창에 넣었습니다. 맞으면 보내기를 누르세요.`,
      heardNote: (t) => `들은 말: “${t}”`,
      heardNothing: "말소리를 알아듣지 못했습니다. 다시 해 보세요.",
      micBlocked: "마이크를 쓸 수 없습니다. 브라우저에서 마이크를 허용해 주세요.",
      voiceFailed: "말을 글로 바꾸지 못했습니다. 다시 해 보거나 글로 써 주세요.",
      recordCancelled: "녹음을 취소했습니다.",
      playFailed: "소리를 재생하지 못했습니다.",
      languageFailed: "언어를 바꾸지 못했습니다. 연결되면 다시 해 보세요.",
      settingFailed: "쉬운 말 설정을 저장하지 못했습니다. 연결되면 다시 해 보세요.",
      cancel: "요청 취소",
      leave: "상담 끝내기",
      endChat: "대화 끝내기",
      endConfirm: "이 대화를 끝내고 이 기기와 서버에서 지울까요? 지운 대화는 다시 볼 수 없습니다.",
      ended: "대화를 끝내고 지웠습니다. 새 대화를 시작할 수 있습니다.",
      endFailed: "대화를 지우지 못했습니다. 연결되면 다시 해 보세요.",
      expired: "오랫동안 새 메시지가 없어 이전 대화는 끝났습니다. 새 대화를 시작합니다.",
      queued: (p, m) => p === 1 ? `다음 차례입니다. 약 ${m}분 남았습니다.` : `${p}번째로 기다리는 중입니다. 약 ${m}분 남았습니다.`,
      nobody: "지금은 연결할 수 있는 사람이 없습니다.",
      scheduled: "예약되었습니다.",
      numberWanted: "번호를 보내 주시면 예약됩니다.",
      joined: "상담사와 대화 중입니다.",
    },
    en: {
      pageTitle: "Sotong civil-service helper",
      title: "Sotong civil-service helper",
      subtitle: "Ask about any civil service.",
      other: "한국어도 됩니다.",
      otherName: "한국어",
      skip: "Skip to the chat box",
      settings: "Settings",
      display: "Display",
      highContrast: "High contrast (light text on black)",
      largeText: "Large text",
      replies: "Answers",
      easyRead: "Easy read (short steps with pictures)",
      easyReadHint: "Answers come as short steps, one at a time.",
      readAloud: "Read answers aloud",
      close: "Close",
      helpHeading: "Help from a person",
      helpPerson: "Talk to a person",
      helpPersonSays: "Talk to a person",
      helpSign: "Sign language interpreter",
      helpSignSays: "sign language interpreter",
      quickHeading: "Common services",
      services: {
        resident_registration_copy: "Resident registration copy",
        move_in_report: "Move-in report",
        basic_pension: "Basic pension",
        disability_registration: "Disability registration",
        birth_report: "Birth report",
      },
      offersHeading: "For you",
      offers: {
        life_events: "Life events",
        find_services: "Services for you",
        reminders: "Deadline reminders",
      },
      conversation: "Conversation",
      text: "Message",
      placeholder: "e.g. How do I apply for the basic pension?",
      textHint: "Enter: send · Shift+Enter: new line",
      send: "Send",
      mic: "Speak",
      micStop: "Stop recording",
      micCancel: "Cancel recording",
      voiceUndo: "Discard what was heard",
      newWindow: "Opens in a new window",
      you: "You",
      bot: "Sotong",
      person: "Staff or interpreter",
      state: { sending: "Sending…", sent: "Sent", failed: "Not sent" },
      retry: "Retry",
      listen: "Listen",
      listenStop: "Stop",
      sendingNow: "Sending…",
      failedNow: "Not sent. It goes out in order when the connection is back, or press Retry.",
      waiting: (n) => `${n} not sent yet. They go out in order when the connection is back.`,
      rejected: "This could not be sent. Please change it and write again.",
      reconnecting: "The connection dropped. Reconnecting. What you write is kept and sent.",
      reconnected: "Connected again.",
      linkRefused: "The link you were sent has expired or was already used. Ask your question here.",
      recording: "Recording. Press “Stop recording” when you are done, or Esc to cancel.",
      recognising: "Turning what you said into text…",
      heard: (t) => `Heard: “${t}”. It is in the chat box: press Send if it is right.`,
      heardNote: (t) => `Heard: “${t}”`,
      heardNothing: "Nothing could be understood. Please try again.",
      micBlocked: "The microphone cannot be used. Please allow it in the browser.",
      voiceFailed: "What you said could not be turned into text. Try again or write it.",
      recordCancelled: "Recording cancelled.",
      playFailed: "The sound could not be played.",
      languageFailed: "The language could not be changed. Try again when connected.",
      settingFailed: "The easy-read setting could not be saved. Try again when connected.",
      cancel: "Cancel request",
      leave: "End the chat",
      endChat: "End chat",
      endConfirm: "End this conversation and erase it from this device and our server? It cannot be read again.",
      ended: "The conversation was ended and erased. You can start a new one.",
      endFailed: "The conversation could not be erased. Try again when connected.",
      expired: "The earlier conversation ended after a long time without messages. A new one starts.",
      queued: (p, m) => p === 1 ? `You are next. About ${m} minutes.` : `You are number ${p} in the queue. About ${m} minutes.`,
      nobody: "Nobody can join right now.",
      scheduled: "Your appointment is booked.",
      numberWanted: "Send your number to book it.",
      joined: "You are talking with a person.",
    },
  };
  const STATE_ICONS = { sending: "…", sent: "✓", failed: "⚠" };
  const MAX_RECORDING_MS = 30000;
  const PING_EVERY_MS = 25000;
  const PONG_WITHIN_MS = 10000;

  document.addEventListener("DOMContentLoaded", start);

  function start() {
    const $ = (id) => document.getElementById(id);
    const log = $("messages");
    const status = $("status");
    const connection = $("connection");
    const handoff = $("handoff");
    const form = $("composer");
    const input = $("text");
    const micButton = $("mic");
    const micText = $("mic-text");
    const micTime = $("mic-time");
    const micCancel = $("mic-cancel");
    const voiceNote = $("voice-note");
    const voiceNoteText = $("voice-note-text");
    const settingsToggle = $("settings-toggle");
    const settingsPanel = $("settings");

    let language = storedLanguage === "en" ? "en" : "ko";
    let sessionId = null;
    try { sessionId = localStorage.getItem(KEYS.session); } catch (e) { /* none */ }
    // A link texted from a call or an SMS conversation (/?continue=…) opens a new
    // conversation that carries that one on. It works once, so it leaves the address bar.
    let continueToken = new URLSearchParams(location.search).get("continue");
    if (continueToken !== null) {
      history.replaceState(null, "", location.pathname);
      if (!/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/.test(continueToken)) continueToken = "";
    }
    if (sessionId && !/^[0-9a-f]{32}$/.test(sessionId)) sessionId = null;

    const shown = new Set(); // server ids of the messages on the page
    let syncedId = 0; // the transcript is complete up to this id (from GETs only)
    let outbox = []; // {cid, text, payload}: written, not yet stored by the gateway
    {
      const kept = load(KEYS.outbox, null);
      if (kept && kept.session && kept.session === sessionId && Array.isArray(kept.items)) outbox = kept.items;
    }
    let lastHandoff = null;
    const L = () => LABELS[language];

    // ---- small helpers --------------------------------------------------------------
    function announce(region, text) {
      if (region.textContent === text) region.textContent = "";
      region.textContent = text;
    }
    function reducedMotion() {
      return media("(prefers-reduced-motion: reduce)");
    }
    // Before an element that has focus goes away, focus moves somewhere sensible.
    function keepFocus(leaving, to) {
      const active = document.activeElement;
      if (active && leaving && (active === leaving || leaving.contains(active))) (to || input).focus();
    }
    function newClientId() {
      const random = Math.random().toString(36).slice(2, 10);
      return `w-${Date.now().toString(36)}-${random}`;
    }
    class HttpError extends Error {
      constructor(status, detail) {
        super(detail || String(status));
        this.status = status;
      }
    }
    async function api(path, options) {
      const response = await fetch(path, {
        headers: { "content-type": "application/json" },
        cache: "no-store",
        ...options,
      });
      if (!response.ok) {
        let detail = "";
        try { detail = (await response.json()).detail; } catch (e) { /* not JSON */ }
        throw new HttpError(response.status, typeof detail === "string" ? detail : "");
      }
      return response.json();
    }
    function saveOutbox() {
      save(KEYS.outbox, outbox.length ? { session: sessionId, items: outbox } : null);
    }
    function saveDisplay() {
      save(KEYS.display, display);
    }
    function langOf(text) {
      return /[\u3131-\u318e\uac00-\ud7a3]/.test(text) ? "ko" : "en";
    }

    // ---- voice (helper F's SotongSpeech, optional) ------------------------------------
    function speech() {
      return window.SotongSpeech || null;
    }
    function canRecord() {
      const s = speech();
      try { return !!s && typeof s.supported === "function" && !!s.supported(); } catch (e) { return false; }
    }
    function canPlay() {
      const s = speech();
      if (!s || typeof s.play !== "function") return false;
      try { return typeof s.canPlay === "function" ? !!s.canPlay() : true; } catch (e) { return false; }
    }
    function speechUrl(id) {
      return `/api/webchat/sessions/${sessionId}/messages/${id}/speech`;
    }

    // ---- labels -----------------------------------------------------------------------
    function applyLanguage(lang) {
      const next = lang === "en" ? "en" : "ko";
      const changed = next !== language || root.lang !== next;
      language = next;
      save(KEYS.language, language);
      if (!changed && document.body.dataset.labelled) return;
      document.body.dataset.labelled = "1";
      const labels = L();
      root.lang = language;
      document.title = labels.pageTitle;
      for (const el of document.querySelectorAll("[data-i18n]")) {
        const value = labels[el.dataset.i18n];
        if (typeof value === "string") el.textContent = value;
      }
      for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
        el.placeholder = labels[el.dataset.i18nPlaceholder];
      }
      const other = $("subtitle-other");
      other.textContent = labels.other;
      other.lang = language === "ko" ? "en" : "ko";
      const toggle = $("language-toggle");
      $("language-toggle-text").textContent = labels.otherName;
      toggle.lang = language === "ko" ? "en" : "ko";
      for (const button of document.querySelectorAll(".quick-replies button[data-service]")) {
        button.textContent = labels.services[button.dataset.service] || button.textContent;
      }
      for (const button of document.querySelectorAll(".quick-replies button[data-offer]")) {
        button.textContent = labels.offers[button.dataset.offer] || button.textContent;
      }
      micText.textContent = recording ? labels.micStop : labels.mic;
      for (const who of log.querySelectorAll(".who")) who.textContent = labels[who.dataset.who];
      for (const item of log.querySelectorAll("li.citizen")) renderState(item);
      for (const button of log.querySelectorAll("button.listen")) {
        button.textContent = button === playingButton ? labels.listenStop : labels.listen;
      }
      if (voiceNote.dataset.heard) voiceNoteText.textContent = labels.heardNote(voiceNote.dataset.heard);
      if (!handoff.hidden) showHandoff(lastHandoff);
    }

    // ---- messages ---------------------------------------------------------------------
    // Each line's leading pictogram (easy-read steps) is decoration: the words carry it.
    const PICTOGRAM = /^((?:\p{Extended_Pictographic}|\p{Regional_Indicator})(?:\uFE0F|\u200D|\p{Extended_Pictographic}|\p{Emoji_Modifier})*)\s*/u;
    function messageBody(text) {
      const body = document.createElement("div");
      body.className = "text";
      body.lang = langOf(text);
      const lines = text.split("\n");
      lines.forEach((line, index) => {
        const found = line.match(PICTOGRAM);
        if (found && found[0].length < line.length) {
          const picto = document.createElement("span");
          picto.className = "picto";
          picto.setAttribute("aria-hidden", "true");
          picto.textContent = found[1];
          body.append(picto);
          line = line.slice(found[0].length);
        }
        body.append(...withLinks(line));
        if (index < lines.length - 1) body.append("\n");
      });
      return body;
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
        a.setAttribute("aria-describedby", "new-window-hint");
        parts.push(a);
        last = match.index + match[0].length;
      }
      parts.push(document.createTextNode(text.slice(last)));
      return parts;
    }

    function whoLabel(sender) {
      const who = document.createElement("span");
      who.className = "who";
      who.dataset.who = sender === "citizen" ? "you" : sender;
      who.textContent = L()[who.dataset.who];
      return who;
    }

    function messageItem(message) {
      const item = document.createElement("li");
      item.className = message.sender;
      if (message.id != null) item.dataset.id = String(message.id);
      item.append(whoLabel(message.sender), messageBody(message.text));
      if (message.buttons && message.buttons.length) {
        const choices = document.createElement("div");
        choices.className = "choices";
        for (const b of message.buttons) {
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = b.title;
          button.addEventListener("click", () => submit(b.title, b.payload));
          choices.append(button);
        }
        item.append(choices);
      }
      if (message.sender !== "citizen" && message.id != null && canPlay()) {
        const tools = document.createElement("div");
        tools.className = "tools";
        const listen = document.createElement("button");
        listen.type = "button";
        listen.className = "listen";
        listen.textContent = L().listen;
        listen.addEventListener("click", () => toggleListen(listen, message.id));
        tools.append(listen);
        item.append(tools);
      }
      return item;
    }

    // The first message not yet stored: server messages go before it, so what was
    // written and not sent stays at the end, in the order it will be sent.
    function firstUnsent() {
      return log.querySelector("li.citizen[data-cid]:not([data-state=sent])");
    }

    // Scrolls at once (never smoothly): a new message and, when writing, the composer.
    function reveal(item) {
      if (reducedMotion()) item.classList.remove("appear");
      const active = document.activeElement;
      if (active && form.contains(active)) form.scrollIntoView({ block: "end" });
      else item.scrollIntoView({ block: "nearest" });
    }

    // A message from the gateway (a reply, a push, the transcript): shown once.
    function showServer(message, live) {
      if (message.id != null && shown.has(message.id)) return null;
      // Our own message, stored but its answer lost: the transcript says which one.
      if (message.sender === "citizen" && message.client_message_id) {
        const local = findLocal(message.client_message_id);
        if (local) {
          dropFromOutbox(message.client_message_id);
          markSent(local, message.id);
          return local;
        }
      }
      if (message.id != null) shown.add(message.id);
      const item = messageItem(message);
      if (message.sender === "citizen") {
        item.dataset.state = "sent";
        renderState(item);
      }
      if (live) item.classList.add("appear");
      log.insertBefore(item, firstUnsent());
      if (live) {
        reveal(item);
        if (message.sender !== "citizen" && message.id != null) readAloud(message.id);
      }
      return item;
    }

    function localItem(entry) {
      const item = messageItem({ id: null, sender: "citizen", text: entry.text });
      item.dataset.cid = entry.cid;
      item.dataset.state = "sending";
      renderState(item);
      log.append(item);
      return item;
    }
    function findLocal(cid) {
      return log.querySelector(`li.citizen[data-cid="${CSS.escape(cid)}"]`);
    }

    // sending / sent / failed: an icon and words (not colour alone); Retry on failure.
    function renderState(item) {
      const state = item.dataset.state || "sent";
      let line = item.querySelector(".state");
      if (!line) {
        line = document.createElement("p");
        line.className = "state";
        item.append(line);
      }
      const oldRetry = line.querySelector("button.retry");
      const icon = document.createElement("span");
      icon.className = "state-icon";
      icon.setAttribute("aria-hidden", "true");
      icon.textContent = STATE_ICONS[state] || "";
      const words = document.createElement("span");
      words.className = "state-text";
      words.textContent = L().state[state] || "";
      if (state === "failed") {
        let retry = oldRetry;
        if (!retry) {
          retry = document.createElement("button");
          retry.type = "button";
          retry.className = "retry";
          retry.addEventListener("click", () => retryItem(item));
        }
        retry.textContent = L().retry;
        line.replaceChildren(icon, " ", words, " ", retry); // the same button: focus stays
      } else {
        if (oldRetry) keepFocus(oldRetry, input);
        line.replaceChildren(icon, " ", words);
      }
    }
    function setState(item, state) {
      if (!item || item.dataset.state === state) return;
      item.dataset.state = state;
      renderState(item);
    }
    function markSent(item, id) {
      if (id != null && shown.has(id) && item.dataset.id !== String(id)) {
        // Already on the page (from the transcript): this copy goes.
        const stored = log.querySelector(`li[data-id="${id}"]`);
        keepFocus(item, input);
        item.remove();
        return stored;
      }
      if (id != null) {
        shown.add(id);
        item.dataset.id = String(id);
      }
      item.dataset.state = "sent";
      delete item.dataset.rejected;
      renderState(item);
      // Anything the gateway sent meanwhile goes after it, before what is still unsent.
      return item;
    }
    function dropFromOutbox(cid) {
      const before = outbox.length;
      outbox = outbox.filter((o) => o.cid !== cid);
      if (outbox.length !== before) saveOutbox();
    }

    // ---- sending: in order, once each (client_message_id), kept while offline ----------
    function submit(text, payload) {
      text = String(text || "").trim();
      if (!text) return;
      const entry = { cid: newClientId(), text: text.slice(0, 2000), payload: payload || null };
      outbox.push(entry);
      saveOutbox();
      const item = localItem(entry);
      reveal(item);
      hideVoiceNote();
      flush();
    }

    function retryItem(item) {
      const cid = item.dataset.cid;
      if (!cid) return;
      if (!outbox.some((o) => o.cid === cid)) {
        // Refused earlier (not kept): written again at the end of the queue.
        outbox.push({ cid, text: item.dataset.text || item.querySelector(".text").textContent, payload: item.dataset.payload || null });
        saveOutbox();
      }
      keepFocus(item.querySelector("button.retry"), input);
      setState(item, "sending");
      flush();
    }

    let flushing = false;
    let flushAgain = false; // asked for while a flush was running: one more pass after it
    async function flush() {
      if (!sessionId) return;
      if (flushing) { flushAgain = true; return; }
      flushing = true;
      flushAgain = false;
      // Only a flush that sent something clears the status line (it may hold a notice).
      const hadWork = outbox.length > 0;
      try {
        while (outbox.length) {
          const entry = outbox[0];
          const item = findLocal(entry.cid) || localItem(entry);
          setState(item, "sending");
          announce(status, L().sendingNow);
          let result;
          try {
            result = await api(`/api/webchat/sessions/${sessionId}/messages`, {
              method: "POST",
              body: JSON.stringify({ text: entry.text, payload: entry.payload || null, client_message_id: entry.cid }),
            });
          } catch (error) {
            if (error instanceof HttpError && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429) {
              // The gateway refused it (too long, a session that is gone): not kept.
              outbox.shift();
              saveOutbox();
              item.dataset.text = entry.text;
              if (entry.payload) item.dataset.payload = entry.payload;
              item.dataset.rejected = "1";
              setState(item, "failed");
              announce(status, L().rejected);
              continue;
            }
            for (const waiting of outbox) setState(findLocal(waiting.cid), "failed");
            announce(status, outbox.length > 1 ? `${L().failedNow} ${L().waiting(outbox.length)}` : L().failedNow);
            return;
          }
          if (outbox[0] === entry) outbox.shift();
          else outbox = outbox.filter((o) => o !== entry);
          saveOutbox();
          markSent(item, result.inbound_id);
          applyLanguage(result.language);
          for (const reply of result.messages) showServer(reply, true);
        }
        if (hadWork) status.textContent = "";
        refreshHandoff();
      } finally {
        flushing = false;
        if (flushAgain) flush();
      }
    }

    // ---- the request for a person: place, wait, and a way to cancel --------------------
    let handoffTimer = null;
    function showHandoff(state) {
      lastHandoff = state;
      clearTimeout(handoffTimer);
      const hadFocus = handoff.contains(document.activeElement);
      if (!state) {
        if (hadFocus) input.focus();
        handoff.replaceChildren();
        handoff.hidden = true;
        return;
      }
      if (handoff.hidden) {
        // A live region is announced when its words change, not when it appears: shown
        // empty first, then filled.
        handoff.replaceChildren();
        handoff.hidden = false;
        handoffTimer = setTimeout(() => fillHandoff(state, false), 100);
        return;
      }
      fillHandoff(state, hadFocus);
    }
    function fillHandoff(state, hadFocus) {
      handoff.replaceChildren();
      const labels = L();
      const line = document.createElement("span");
      if (state.state === "accepted" || state.state === "in_session") line.textContent = labels.joined;
      else if (state.contact && state.scheduled_for) line.textContent = labels.scheduled;
      else if (state.contact) line.textContent = labels.numberWanted;
      else if (state.wait_minutes == null) line.textContent = labels.nobody;
      else line.textContent = labels.queued(state.position, state.wait_minutes);
      handoff.append(line);
      // The citizen can always leave: the queue, or a session with a person.
      const held = state.state === "accepted" || state.state === "in_session";
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.textContent = held ? labels.leave : labels.cancel;
      cancel.addEventListener("click", () => {
        const words = held ? L().leave : L().cancel;
        submit(words, "sotong:handoff:cancel");
      });
      handoff.append(" ", cancel);
      if (hadFocus) (cancel || input).focus();
    }

    async function refreshHandoff() {
      if (!sessionId) return;
      try {
        const h = await api(`/api/webchat/sessions/${sessionId}/handoff`);
        showHandoff(h.status);
      } catch (e) { /* shown again on the next change */ }
    }

    // ---- session, transcript, push, reconnect ----------------------------------------
    function applyTranscript(transcript, live) {
      applyLanguage(transcript.language);
      reflectAccessibility(transcript.accessibility);
      for (const message of transcript.messages) {
        showServer(message, live);
        if (message.id != null) syncedId = Math.max(syncedId, message.id);
      }
    }

    let notice = null; // said once the new conversation has started

    async function ensureSession() {
      if (continueToken !== null) {
        const token = continueToken;
        continueToken = null;
        try {
          if (!token) throw new HttpError(410);
          const created = await api("/api/webchat/sessions", {
            method: "POST",
            body: JSON.stringify({ language, continue_token: token }),
          });
          sessionId = created.session_id;
          save(KEYS.session, sessionId);
          saveOutbox(); // anything written and not yet sent goes to the new conversation
          const transcript = await api(`/api/webchat/sessions/${sessionId}/messages`);
          applyTranscript(transcript, false);
          return;
        } catch (error) {
          if (!(error instanceof HttpError) || (error.status !== 410 && error.status !== 422)) throw error;
          announce(status, L().linkRefused);
        }
      }
      if (sessionId) {
        try {
          const transcript = await api(`/api/webchat/sessions/${sessionId}/messages`);
          applyTranscript(transcript, false);
          return;
        } catch (error) {
          if (!(error instanceof HttpError) || error.status !== 404) throw error;
          sessionId = null; // gone: a new conversation
          if (/expired/.test(error.message)) notice = L().expired;
        }
      }
      const created = await api("/api/webchat/sessions", {
        method: "POST",
        body: JSON.stringify({ language, accessibility: display.easyRead ? { easy_read: true } : {} }),
      });
      sessionId = created.session_id;
      save(KEYS.session, sessionId);
      applyLanguage(created.language);
      reflectAccessibility(created.accessibility);
      saveOutbox();
      if (notice) announce(status, notice);
      notice = null;
    }

    // A conversation that is gone (expired on the server, or ended here or in another
    // tab) leaves the screen — on a shared device the next person must not read it —
    // and a new one starts; what was written and not yet sent stays and goes to it.
    function startOver(words) {
      dropSocket();
      clearTimeout(reconnectTimer);
      started = false;
      sessionId = null;
      save(KEYS.session, null);
      shown.clear();
      syncedId = 0;
      for (const item of [...log.children]) {
        if (!item.dataset.cid || !outbox.some((o) => o.cid === item.dataset.cid)) item.remove();
      }
      showHandoff(null);
      notice = words;
      begin();
    }

    let socket = null;
    let attempts = 0;
    let reconnectTimer = null;
    let pingTimer = null;
    let pongTimer = null;
    let away = false; // the "reconnecting" line is showing
    let started = false;

    function markAway() {
      if (away) return;
      away = true;
      connection.classList.add("away");
      announce(connection, L().reconnecting);
    }
    function markBack() {
      if (!away) return;
      away = false;
      connection.classList.remove("away");
      announce(connection, L().reconnected);
      setTimeout(() => {
        if (!away && connection.textContent === L().reconnected) connection.textContent = "";
      }, 6000);
    }

    function scheduleReconnect() {
      clearTimeout(reconnectTimer);
      markAway();
      const delay = Math.min(10000, 1000 * 2 ** attempts) * (0.75 + Math.random() * 0.5);
      attempts = Math.min(attempts + 1, 8);
      reconnectTimer = setTimeout(begin, delay);
    }
    function stopPing() {
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
    }
    function dropSocket() {
      const old = socket;
      socket = null;
      stopPing();
      if (old) {
        try { old.close(); } catch (e) { /* already closed */ }
      }
    }

    function connect() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(`${scheme}://${location.host}/api/webchat/sessions/${sessionId}/ws`);
      socket = ws;
      ws.onopen = async () => {
        if (socket !== ws) return;
        stopPing();
        pingTimer = setInterval(() => {
          if (socket !== ws || ws.readyState !== WebSocket.OPEN) return;
          ws.send("ping");
          clearTimeout(pongTimer);
          pongTimer = setTimeout(() => {
            if (socket === ws) { dropSocket(); scheduleReconnect(); }
          }, PONG_WITHIN_MS);
        }, PING_EVERY_MS);
        // What was said while away, then what was written while away (in that order).
        try {
          const transcript = await api(`/api/webchat/sessions/${sessionId}/messages?after=${syncedId}`);
          if (socket !== ws) return;
          applyTranscript(transcript, true);
        } catch (e) {
          if (socket === ws) { dropSocket(); scheduleReconnect(); }
          return;
        }
        attempts = 0;
        markBack();
        refreshHandoff();
        flush();
      };
      ws.onmessage = (event) => {
        if (event.data === "pong") { clearTimeout(pongTimer); return; }
        let data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        if (data.type === "message" && data.message) showServer(data.message, true);
        else if (data.type === "handoff") showHandoff(data.status);
        else if (data.type === "handoff_changed") refreshHandoff();
        else if (data.type === "ended") { outbox = []; saveOutbox(); startOver(L().ended); }
      };
      ws.onclose = (event) => {
        if (socket !== ws) return;
        socket = null;
        stopPing();
        if (event.code === 4404) { startOver(L().expired); return; } // the id is gone
        scheduleReconnect();
      };
    }

    // Start (or start again): the session and its transcript, then the push socket.
    async function begin() {
      clearTimeout(reconnectTimer);
      if (socket) return;
      if (!started) {
        // The transcript of an earlier visit is there to read, not to be announced.
        const region = $("log");
        region.setAttribute("aria-live", "off");
        // What was written and not sent shows at once (the transcript goes before it).
        for (const entry of outbox) if (!findLocal(entry.cid)) localItem(entry);
        try {
          await ensureSession();
        } catch (e) {
          region.setAttribute("aria-live", "polite");
          for (const entry of outbox) setState(findLocal(entry.cid), "failed");
          if (outbox.length) announce(status, L().waiting(outbox.length));
          scheduleReconnect();
          return;
        }
        started = true;
        if (log.lastElementChild) reveal(log.lastElementChild);
        // Once the accessibility tree has the old messages, new ones are announced again.
        setTimeout(() => region.setAttribute("aria-live", "polite"), 250);
        refreshHandoff();
        flush();
      }
      connect();
    }

    window.addEventListener("online", () => {
      if (!socket) begin();
      else flush();
    });
    window.addEventListener("offline", markAway);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !socket) begin();
    });

    // ---- end and forget on this device (review M6) -------------------------------------
    $("end-chat").addEventListener("click", async () => {
      if (!sessionId || !window.confirm(L().endConfirm)) return;
      let response;
      try {
        response = await fetch(`/api/webchat/sessions/${sessionId}`, { method: "DELETE", cache: "no-store" });
      } catch (e) {
        announce(status, L().endFailed);
        return;
      }
      if (!response.ok && response.status !== 404) {
        announce(status, L().endFailed);
        return;
      }
      outbox = []; // "forget" means the unsent words too
      saveOutbox();
      startOver(L().ended);
      input.focus();
    });

    // ---- settings ---------------------------------------------------------------------
    const highContrast = $("high-contrast");
    const largeText = $("large-text");
    const easyRead = $("easy-read");
    const readAloudBox = $("read-aloud");
    highContrast.checked = display.highContrast;
    largeText.checked = !!display.largeText;
    easyRead.checked = !!display.easyRead;
    readAloudBox.checked = !!display.readAloud;

    function setSettingsOpen(open, focusToggle) {
      settingsPanel.hidden = !open;
      settingsToggle.setAttribute("aria-expanded", String(open));
      if (!open && focusToggle) settingsToggle.focus();
    }
    settingsToggle.addEventListener("click", () => setSettingsOpen(settingsPanel.hidden, false));
    $("settings-close").addEventListener("click", () => setSettingsOpen(false, true));
    settingsPanel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.preventDefault(); setSettingsOpen(false, true); }
    });
    settingsToggle.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !settingsPanel.hidden) { event.preventDefault(); setSettingsOpen(false, true); }
    });

    highContrast.addEventListener("change", () => {
      display.highContrast = highContrast.checked;
      display.highContrastChosen = true;
      root.classList.toggle("high-contrast", display.highContrast);
      saveDisplay();
    });
    largeText.addEventListener("change", () => {
      display.largeText = largeText.checked;
      root.classList.toggle("large-text", display.largeText);
      saveDisplay();
    });
    readAloudBox.addEventListener("change", () => {
      display.readAloud = readAloudBox.checked;
      saveDisplay();
      if (!display.readAloud) stopPlayback();
    });
    easyRead.addEventListener("change", async () => {
      const wanted = easyRead.checked;
      display.easyRead = wanted;
      root.classList.toggle("easy-read", wanted);
      saveDisplay();
      if (!sessionId) return; // a new session is created with it
      try {
        const updated = await api(`/api/webchat/sessions/${sessionId}`, {
          method: "PATCH",
          body: JSON.stringify({ accessibility: { easy_read: wanted } }),
        });
        reflectAccessibility(updated.accessibility);
      } catch (e) {
        easyRead.checked = !wanted;
        display.easyRead = !wanted;
        root.classList.toggle("easy-read", !wanted);
        saveDisplay();
        announce(status, L().settingFailed);
      }
    });
    function reflectAccessibility(accessibility) {
      if (!accessibility || typeof accessibility.easy_read !== "boolean") return;
      easyRead.checked = accessibility.easy_read;
      display.easyRead = accessibility.easy_read;
      root.classList.toggle("easy-read", accessibility.easy_read);
      saveDisplay();
    }

    $("language-toggle").addEventListener("click", async () => {
      const wanted = language === "ko" ? "en" : "ko";
      if (!sessionId) { applyLanguage(wanted); return; }
      try {
        const updated = await api(`/api/webchat/sessions/${sessionId}`, {
          method: "PATCH",
          body: JSON.stringify({ language: wanted }),
        });
        applyLanguage(updated.language || wanted);
      } catch (e) {
        announce(status, L().languageFailed);
      }
    });

    // ---- composer, quick replies, help ------------------------------------------------
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) { input.focus(); return; }
      input.value = "";
      submit(text, null);
    });
    input.addEventListener("keydown", (event) => {
      // Enter sends; Shift+Enter is a new line; Enter that ends a Korean IME syllable
      // is not a send.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    input.addEventListener("input", () => {
      if (!input.value.trim()) hideVoiceNote();
    });
    $("skip-link").addEventListener("click", (event) => {
      event.preventDefault();
      input.focus();
      input.scrollIntoView({ block: "center" });
    });
    for (const button of document.querySelectorAll(".quick-replies button")) {
      // The words are sent, as if typed: a payload the gateway did not offer in this
      // conversation would be dropped anyway (review L6), and the dialogue knows them.
      button.addEventListener("click", () => submit(button.textContent, null));
    }
    $("help-person").addEventListener("click", () => submit(L().helpPersonSays, "/request_human"));
    // Rasa reads the words: the request is for a KSL interpreter.
    $("help-sign").addEventListener("click", () => submit(L().helpSignSays, null));

    // ---- listening ----------------------------------------------------------------------
    let playingButton = null;
    let readQueue = [];
    let reading = false;
    let playGeneration = 0;

    function resetListenButton() {
      if (playingButton) {
        playingButton.textContent = L().listen;
        playingButton.classList.remove("playing");
      }
      playingButton = null;
    }
    function stopPlayback() {
      playGeneration += 1;
      readQueue = [];
      reading = false;
      resetListenButton();
      const s = speech();
      if (s && typeof s.stopPlayback === "function") {
        try { s.stopPlayback(); } catch (e) { /* nothing playing */ }
      }
    }
    function toggleListen(button, id) {
      const wasPlaying = playingButton === button;
      stopPlayback();
      if (wasPlaying) return;
      const generation = playGeneration;
      playingButton = button;
      button.textContent = L().listenStop;
      button.classList.add("playing");
      Promise.resolve()
        .then(() => speech().play(speechUrl(id)))
        .catch(() => { if (generation === playGeneration) announce(status, L().playFailed); })
        .finally(() => { if (generation === playGeneration) resetListenButton(); });
    }
    function readAloud(id) {
      if (!display.readAloud || !canPlay() || !sessionId) return;
      readQueue.push(id);
      pumpReading();
    }
    async function pumpReading() {
      if (reading) return;
      reading = true;
      const generation = playGeneration;
      while (readQueue.length && generation === playGeneration) {
        const id = readQueue.shift();
        const item = log.querySelector(`li[data-id="${id}"]`);
        const button = item && item.querySelector("button.listen");
        if (button) { playingButton = button; button.textContent = L().listenStop; button.classList.add("playing"); }
        try {
          await speech().play(speechUrl(id));
        } catch (e) {
          if (generation === playGeneration) announce(status, L().playFailed);
          break;
        }
        if (generation === playGeneration) resetListenButton();
      }
      if (generation === playGeneration) reading = false;
    }

    // ---- speaking -----------------------------------------------------------------------
    let recording = null; // {since, ticker, limit}
    let recognising = false;
    let beforeVoice = "";

    function showMicState() {
      const labels = L();
      micText.textContent = recording ? labels.micStop : labels.mic;
      micButton.classList.toggle("recording", !!recording);
      micTime.hidden = !recording;
      if (!recording) keepFocus(micCancel, micButton);
      micCancel.hidden = !recording;
      micButton.setAttribute("aria-disabled", String(recognising));
    }
    function tick() {
      if (!recording) return;
      const seconds = Math.floor((Date.now() - recording.since) / 1000);
      micTime.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    }
    async function startRecording() {
      try {
        await speech().start();
      } catch (e) {
        const code = e && e.code;
        if (code !== "cancelled") announce(status, code === "denied" || code === "no-microphone" ? L().micBlocked : L().voiceFailed);
        return;
      }
      recording = { since: Date.now(), ticker: setInterval(tick, 500), limit: setTimeout(finishRecording, MAX_RECORDING_MS + 1000) };
      tick();
      showMicState();
      announce(status, L().recording);
    }
    function endRecordingState() {
      if (!recording) return;
      clearInterval(recording.ticker);
      clearTimeout(recording.limit);
      recording = null;
    }
    async function finishRecording() {
      if (!recording) return;
      endRecordingState();
      recognising = true;
      showMicState();
      announce(status, L().recognising);
      try {
        const blob = await speech().stop();
        const result = await speech().recognise(sessionId, blob, language);
        const heard = String((result && result.text) || "").trim();
        if (!heard) announce(status, L().heardNothing);
        else putHeard(heard);
      } catch (e) {
        // The gateway's own plain words when it gave some (no model for English, …).
        const detail = e && e.code === "http" && typeof e.detail === "string" ? e.detail : "";
        announce(status, detail || L().voiceFailed);
      } finally {
        recognising = false;
        showMicState();
      }
    }
    function cancelRecording() {
      if (!recording) return;
      endRecordingState();
      try { speech().cancel(); } catch (e) { /* already stopped */ }
      showMicState();
      announce(status, L().recordCancelled);
    }
    // What was heard goes into the composer first: read, change or discard it, then send.
    function putHeard(heard) {
      beforeVoice = input.value;
      input.value = beforeVoice.trim() ? `${beforeVoice.trimEnd()} ${heard}` : heard;
      voiceNote.dataset.heard = heard;
      voiceNoteText.textContent = L().heardNote(heard);
      voiceNote.hidden = false;
      input.focus();
      input.setSelectionRange(input.value.length, input.value.length);
      announce(status, L().heard(heard));
    }
    function hideVoiceNote() {
      if (voiceNote.hidden) return;
      keepFocus(voiceNote, input);
      voiceNote.hidden = true;
      delete voiceNote.dataset.heard;
    }
    micButton.addEventListener("click", () => {
      if (recognising) return;
      if (recording) finishRecording();
      else startRecording();
    });
    micCancel.addEventListener("click", cancelRecording);
    $("voice-undo").addEventListener("click", () => {
      input.value = beforeVoice;
      hideVoiceNote();
      input.focus();
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && recording) { event.preventDefault(); cancelRecording(); micButton.focus(); }
    });
    // speech.js stops by itself at 30 s and keeps what was said.
    window.addEventListener("sotong-speech:limit", () => finishRecording());

    function enableVoice() {
      const record = canRecord();
      const play = canPlay();
      micButton.hidden = !record;
      for (const el of document.querySelectorAll(".check.voice-only")) el.hidden = !play;
      root.classList.toggle("voice", record || play);
    }

    applyLanguage(language);
    enableVoice();
    begin();
  }
})();
