// Sotong interpreter console: the live handoff queue, my sessions, one open session.
// The WebSocket only says "something changed"; every detail is fetched again through
// the REST API, which decides who may see what.
"use strict";
(function () {
  const API = "/api/console";
  const PING_MS = 25000;
  const TICK_MS = 15000;

  const REASONS = {
    sign_language: "수어 통역 · Sign language",
    person: "상담원 · A person",
    callback: "전화 회신 · Call back",
    requested: "상담원 요청 · A person",
  };
  const SKILLS = { ksl: "수어 · KSL", person: "상담 · Person" };
  const CHANNELS = {
    webchat: "웹 채팅 · Web chat",
    sms: "문자 · SMS",
    voice: "전화 · Phone",
    desk: "창구 · Desk",
  };
  const LANGUAGES = window.SotongDay.LANGUAGES; // day.js is loaded first
  const NEEDS = {
    deaf: "농인 · Deaf",
    hard_of_hearing: "난청 · Hard of hearing",
    low_vision: "저시력 · Low vision",
    short_messages: "짧은 메시지 · Short messages",
    easy_words: "쉬운 말 · Easy words",
    slow_speech: "천천히 말하기 · Slow speech",
  };
  const CONTACTS = {
    callback: "전화 회신 · Call back",
    text: "문자 회신 · Text back",
    video: "영상 통화 예약 · Video appointment",
  };
  const NUMBER_STATES = {
    asking: "번호를 묻는 중 · Asked for a number",
    confirming: "번호 확인 중 · Confirming the number",
    confirmed: "확인됨 · Confirmed",
  };
  const OUTCOMES = {
    reached: "연결됨 · Reached",
    no_answer: "받지 않음 · No answer",
    busy: "통화 중 · Busy",
    wrong_number: "걸 수 없는 번호 · Number not in service",
    person_unreached: "내 전화가 받지 않음 · My phone did not answer",
    failed: "걸지 못함 · Could not be placed",
  };
  const STATES = {
    waiting: "대기 · Waiting",
    offered: "나에게 배정됨 · Offered to me",
    accepted: "수락함 · Accepted",
    in_session: "상담 중 · In session",
  };

  const $ = (id) => document.getElementById(id);
  const el = {
    who: $("who"),
    connection: $("connection"),
    announce: $("announce"),
    error: $("error"),
    available: $("available"),
    availabilityHelp: $("availability-help"),
    queueTable: $("queue-table"),
    queueBody: $("queue-body"),
    queueEmpty: $("queue-empty"),
    queueRefused: $("queue-refused"),
    mine: $("mine"),
    mineEmpty: $("mine-empty"),
    session: $("session"),
    sessionHeading: $("session-heading"),
    context: $("context"),
    transcript: $("transcript"),
    offer: $("offer"),
    held: $("held"),
    reply: $("reply"),
    replyText: $("reply-text"),
    videoStart: $("video-start"),
    joinLink: $("join-link"),
    call: $("call"),
    callState: $("call-state"),
    callNotice: $("call-notice"),
    callMic: $("call-mic"),
    callCamera: $("call-camera"),
    closeForm: $("close"),
    closeNotes: $("close-notes"),
    serviceEntry: $("service-entry"),
    serviceEntryName: $("service-entry-name"),
    serviceEntryFacts: $("service-entry-facts"),
    serviceEntryReviewed: $("service-entry-reviewed"),
    callback: $("callback"),
    callbackDetails: $("callback-details"),
    callbackReveal: $("callback-reveal"),
    callbackCall: $("callback-call"),
    callbackAttempts: $("callback-attempts"),
    callbackNone: $("callback-none"),
  };

  let csrfToken = null;
  let me = null; // {username, name, role}
  let queue = { waiting: [], mine: [] };
  let fetchedAt = Date.now();
  const seenWaiting = new Set();
  let firstQueue = true;
  let openId = null; // the request shown in the session panel
  let closingId = null; // the request this page is closing (its "changed" is expected)
  const shownTurns = new Set();
  let lastTurnId = 0; // updates of the open session fetch only what came after
  let call = null; // the SotongVideoCall of the open session
  let micOn = true;
  let cameraOn = true;

  // ---- small helpers ----------------------------------------------------------------
  function label(table, key) {
    return table[key] || key || "—";
  }

  function say(text) {
    // Re-setting the same text would not be announced again: clear first.
    el.announce.textContent = "";
    window.setTimeout(() => { el.announce.textContent = text; }, 50);
  }

  function showError(text) {
    el.error.textContent = text;
    el.error.hidden = false;
  }

  function clearError() {
    el.error.hidden = true;
    el.error.textContent = "";
  }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const m = Math.floor(s / 60);
    if (m < 1) return `${s}초 · ${s} s`;
    if (m < 60) return `${m}분 · ${m} min`;
    const h = Math.floor(m / 60);
    return `${h}시간 ${m % 60}분 · ${h} h ${m % 60} min`;
  }

  function clock(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleTimeString("ko-KR", { hour: "2-digit", minute: "2-digit" });
  }

  function needs(accessibility) {
    const on = Object.entries(accessibility || {}).filter(([, v]) => v).map(([k]) => label(NEEDS, k));
    return on.length ? on.join(", ") : "없음 · None";
  }

  function serviceName(service) {
    return service ? `${service.ko} · ${service.en}` : "—";
  }

  function toLogin() {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail || String(status));
      this.status = status;
    }
  }

  async function api(path, options = {}) {
    const method = options.method || "GET";
    const headers = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
    const response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    if (response.status === 401) {
      toLogin();
      throw new ApiError(401, "signed out");
    }
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      // FastAPI's own 422s list their problems; ours are one sentence.
      const detail = data && (Array.isArray(data.detail) ? data.detail.map((d) => d.msg).join("; ") : data.detail);
      throw new ApiError(response.status, detail);
    }
    return data;
  }

  function failed(error) {
    if (error.status === 401) return;
    if (error.status === 403) {
      showError("보안 확인에 실패했습니다. 페이지를 새로 고쳐 주세요. · Security check failed. Please reload the page.");
    } else {
      showError("요청을 처리하지 못했습니다. 잠시 후 다시 해 주세요. · That did not work. Please try again shortly.");
    }
  }

  // ---- who I am and availability -----------------------------------------------------
  function showInterpreter(interpreter) {
    el.available.checked = Boolean(interpreter.available);
    const parts = [`받는 요청 · Takes: ${interpreter.skills.map((s) => label(SKILLS, s)).join(", ")}`,
      `동시 상담 · At once: ${interpreter.capacity}`];
    if (!interpreter.on_duty) parts.push("지금은 근무 시간이 아닙니다 · Outside your working hours now");
    el.availabilityHelp.textContent = parts.join(" — ");
    if (interpreter.languages && interpreter.languages.length) {
      parts.push(`언어 · Languages: ${interpreter.languages.map((l) => label(LANGUAGES, l)).join(", ")}`);
      el.availabilityHelp.textContent = parts.join(" — ");
    }
    fillDetails(interpreter);
  }

  // ---- my working details ------------------------------------------------------------
  const detailsForm = $("details");
  function fillDetails(interpreter) {
    $("details-hours").value = interpreter.work_hours || "";
    $("details-skill-ksl").checked = interpreter.skills.includes("ksl");
    $("details-skill-person").checked = interpreter.skills.includes("person");
    const languages = interpreter.languages || [];
    detailsForm.querySelectorAll("input[name=languages]").forEach((box) => {
      box.checked = languages.includes(box.value);
    });
    $("details-phone").value = interpreter.phone || "";
  }
  detailsForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError();
    const checked = (name) => [...detailsForm.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
    const body = {
      work_hours: $("details-hours").value.trim() || null,
      skills: checked("skills"),
      languages: checked("languages"),
      phone: $("details-phone").value.trim() || null,
    };
    try {
      showInterpreter(await api(`${API}/details`, { method: "PUT", body }));
      $("details-saved").textContent = "저장했습니다 · Saved";
    } catch (error) {
      $("details-saved").textContent = "";
      if (error.status === 422) showError(`${error.message} · 고쳐서 다시 저장해 주세요. Please correct it and save again.`);
      else failed(error);
    }
  });

  async function loadMe() {
    const auth = await api("/api/auth/me");
    csrfToken = auth.csrf_token;
    const console_ = await api(`${API}/me`);
    me = console_.account;
    el.who.textContent = `${me.name} (${me.username})`;
    showInterpreter(console_.interpreter);
  }

  // The availability change in flight, if any. An interpreter who ticks the switch and
  // takes a request at once sends two requests; the server may see the accept first and
  // refuse it ("not available"). An accept waits for this one to be answered.
  let availabilityChange = Promise.resolve();

  el.available.addEventListener("change", () => {
    clearError();
    const wanted = el.available.checked;
    availabilityChange = (async () => {
      try {
        const result = await api(`${API}/availability`, { method: "POST", body: { available: wanted } });
        showInterpreter(result.interpreter);
        say(wanted ? "이제 요청을 받습니다 · You now take requests" : "요청을 받지 않습니다 · You take no requests now");
      } catch (error) {
        el.available.checked = !wanted;
        failed(error);
      }
    })();
    availabilityChange.then(() => refreshQueue()).catch(failed);
  });

  $("logout").addEventListener("click", async () => {
    try { await api("/api/auth/logout", { method: "POST" }); } catch (e) { /* signed out anyway */ }
    toLogin();
  });

  // ---- the queue -----------------------------------------------------------------------
  function button(text, onClick, className) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    if (className) b.className = className;
    b.addEventListener("click", onClick);
    return b;
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.append(td);
    return td;
  }

  function renderQueue() {
    // Rebuilding the lists must not throw a keyboard user's focus to the page top.
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.key : null;
    const elapsed = (Date.now() - fetchedAt) / 1000;
    el.queueBody.replaceChildren();
    for (const item of queue.waiting) {
      const row = document.createElement("tr");
      const wait = cell(row, duration(item.waiting_seconds + elapsed));
      wait.className = "wait";
      wait.dataset.seconds = String(item.waiting_seconds);
      const booked = item.scheduled_for
        ? ` — ${label(CONTACTS, item.contact)} ${clock(item.scheduled_for)}` : "";
      cell(row, `${label(REASONS, item.reason)} (${label(SKILLS, item.skill)})${booked}`);
      cell(row, serviceName(item.service));
      cell(row, label(CHANNELS, item.channel));
      cell(row, label(LANGUAGES, item.language));
      cell(row, needs(item.accessibility));
      const actions = cell(row, "");
      const what = `${label(REASONS, item.reason)}, ${duration(item.waiting_seconds + elapsed)}`;
      const take = button("수락 · Accept", () => accept(item.id));
      take.dataset.key = `accept:${item.id}`;
      take.setAttribute("aria-label", `수락 · Accept: ${what}`);
      actions.append(take);
      if (item.offered_to_me) {
        row.className = "offered";
        const no = button("거절 · Decline", () => decline(item.id), "secondary");
        no.dataset.key = `decline:${item.id}`;
        no.setAttribute("aria-label", `거절 · Decline: ${what}`);
        actions.append(" ", no);
      }
      if (item.same_source > 1) {
        // Many requests from one address or number: a flood, cleared in one go.
        const n = item.same_source;
        const clear = button(`같은 곳 ${n}건 정리 · Dismiss ${n} from one source`,
          () => dismissSource(item.id, n), "secondary");
        clear.dataset.key = `dismiss:${item.id}`;
        actions.append(" ", clear);
      }
      el.queueBody.append(row);
    }
    el.queueTable.hidden = queue.waiting.length === 0;
    el.queueEmpty.hidden = queue.waiting.length > 0;
    // Requests past a limit were not queued: a flood (or one citizen asking over and
    // over) shows here, with how much of it came from one place.
    const refused = queue.refused || { last_hour: 0, from_one_source: 0 };
    el.queueRefused.hidden = refused.last_hour === 0;
    el.queueRefused.textContent = refused.last_hour === 0 ? "" :
      `최근 1시간 동안 제한을 넘어 받지 않은 요청 ${refused.last_hour}건 (한 곳에서 최대 ${refused.from_one_source}건) · ` +
      `${refused.last_hour} request(s) refused past a limit in the last hour (up to ${refused.from_one_source} from one source)`;

    el.mine.replaceChildren();
    for (const item of queue.mine) {
      const li = document.createElement("li");
      if (item.id === openId) li.setAttribute("aria-current", "true");
      const text = document.createElement("span");
      text.textContent = `#${item.id} ${label(STATES, item.state)} — ${label(REASONS, item.reason)}, ` +
        `${label(CHANNELS, item.channel)}, ${serviceName(item.service)}`;
      const open = button("열기 · Open", () => openSession(item.id));
      open.dataset.key = `open:${item.id}`;
      open.setAttribute("aria-label", `열기 · Open #${item.id}`);
      li.append(text, " ", open);
      el.mine.append(li);
    }
    el.mineEmpty.hidden = queue.mine.length > 0;
    if (focused) {
      const again = document.querySelector(`[data-key="${focused}"]`);
      if (again) again.focus();
    }
  }

  function tick() {
    const elapsed = (Date.now() - fetchedAt) / 1000;
    for (const wait of el.queueBody.querySelectorAll("td.wait")) {
      wait.textContent = duration(Number(wait.dataset.seconds) + elapsed);
    }
  }

  async function refreshDay() {
    const day = await api(`${API}/day`);
    window.SotongDay.render(day, $("day-body"), $("day-table"), $("day-empty"));
  }

  async function refreshQueue() {
    refreshDay().catch(failed);
    const result = await api(`${API}/queue`);
    queue = result;
    fetchedAt = Date.now();
    const fresh = result.waiting.filter((item) => !seenWaiting.has(item.id));
    result.waiting.forEach((item) => seenWaiting.add(item.id));
    if (!firstQueue && fresh.length) {
      const mine = fresh.filter((item) => item.offered_to_me).length;
      say(mine
        ? `나에게 배정된 새 요청 ${mine}건 · ${mine} new request(s) offered to you`
        : `새 요청 ${fresh.length}건 · ${fresh.length} new request(s) waiting`);
    }
    firstQueue = false;
    renderQueue();
  }

  let refreshTimer = null;
  function refreshSoon() {
    // Many changes arrive together (an accept changes the queue for everyone): one fetch.
    if (refreshTimer) return;
    refreshTimer = window.setTimeout(() => {
      refreshTimer = null;
      refreshQueue().catch(failed);
    }, 150);
  }

  async function accept(id) {
    clearError();
    await availabilityChange;
    try {
      const detail = await api(`${API}/requests/${id}/accept`, { method: "POST" });
      say("요청을 수락했습니다 · You took the request");
      await refreshQueue();
      showSession(detail, true);
    } catch (error) {
      if (error.status === 409) {
        showError("이미 다른 분이 맡았거나 지금 받을 수 없는 요청입니다. 상담 가능 상태와 동시 상담 수를 확인해 주세요. · Someone else took it, or you cannot take it now: check that you are available and not at your limit of sessions.");
        refreshQueue().catch(failed);
      } else {
        failed(error);
      }
    }
  }

  async function dismissSource(id, n) {
    clearError();
    const question = `같은 곳에서 온 대기 요청 ${n}건을 모두 정리할까요? ` +
      `Dismiss all ${n} waiting requests from this source?`;
    if (!window.confirm(question)) return;
    try {
      const done = await api(`${API}/requests/${id}/dismiss-source`, { method: "POST" });
      say(`요청 ${done.dismissed}건을 정리했습니다 · Dismissed ${done.dismissed} request(s)`);
      await refreshQueue();
    } catch (error) {
      failed(error);
      refreshQueue().catch(failed);
    }
  }

  async function decline(id) {
    clearError();
    try {
      await api(`${API}/requests/${id}/decline`, { method: "POST" });
      say("요청을 거절했습니다. 다른 분에게 갑니다 · Declined; it goes to someone else");
      if (openId === id) hideSession();
      await refreshQueue();
    } catch (error) {
      failed(error);
      refreshQueue().catch(failed);
    }
  }

  // ---- the open session ---------------------------------------------------------------
  function sender(turn) {
    if (turn.sender === "citizen") return "시민 · Citizen";
    if (turn.sender === "bot") return "소통 도우미 · Assistant";
    const who = (turn.author || "").replace(/^person:/, "");
    return me && who === me.username ? "나 · Me" : `${who} · Staff`;
  }

  function addTurn(turn) {
    if (turn.id != null) {
      if (shownTurns.has(turn.id)) return;
      shownTurns.add(turn.id);
      lastTurnId = Math.max(lastTurnId, turn.id);
    }
    const li = document.createElement("li");
    li.className = turn.sender;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = sender(turn);
    const time = document.createElement("time");
    if (turn.created_at) {
      time.dateTime = turn.created_at;
      time.textContent = clock(turn.created_at);
    }
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = turn.text;
    li.append(who, " ", time, text);
    el.transcript.append(li);
    el.transcript.scrollTop = el.transcript.scrollHeight;
  }

  function term(name, value, list = el.context) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
    return dd;
  }

  function showSession(detail, focus) {
    const changed = openId !== detail.summary.id;
    if (changed) {
      hangUp();
      openId = detail.summary.id;
      shownTurns.clear();
      lastTurnId = 0;
      el.transcript.replaceChildren();
      el.joinLink.hidden = true;
      el.closeNotes.value = "";
      revealed = null;
    }
    const s = detail.summary;
    const c = detail.conversation;
    el.context.replaceChildren();
    term("요청 번호 · Request", `#${s.id} — ${label(STATES, s.state)}`);
    term("요청 이유 · Reason", `${label(REASONS, s.reason)} (${label(SKILLS, s.skill)})`);
    term("민원 · Service", serviceName(s.service));
    term("채널 · Channel", label(CHANNELS, c.channel));
    term("언어 · Language", label(LANGUAGES, c.language));
    term("접근성 · Accessibility", needs(c.accessibility));
    term("기다린 시간 · Waited", duration(s.waiting_seconds));
    if (detail.notes) term("전달 메모 · Hand-over note", detail.notes);
    if (detail.service_entry) showServiceEntry(detail.service_entry);
    else if (changed) el.serviceEntry.hidden = true;
    detail.transcript.forEach(addTurn);
    const offered = s.state === "offered";
    // A video appointment whose time has come: its citizen may not have come.
    const due = s.contact === "video" && s.scheduled_for && new Date(s.scheduled_for) <= new Date();
    $("close-no-show").hidden = !due;
    $("no-show-help").hidden = !due;
    if (s.contact && s.scheduled_for) {
      term("예약 · Appointment", `${label(CONTACTS, s.contact)}, ${clock(s.scheduled_for)}`);
    }
    el.offer.hidden = !offered;
    el.held.hidden = offered;
    el.session.hidden = false;
    if (offered) el.callback.hidden = true;
    else loadCallback(s.id).catch(failed);
    if (changed && !offered) loadHistory(s.id).catch(failed);
    if (changed && offered) $("history").hidden = true;
    renderQueue(); // marks the open one in "my sessions"
    if (focus) el.sessionHeading.focus();
  }

  // The catalog's entry for the service at hand (only in a full read of the session).
  function showServiceEntry(entry) {
    el.serviceEntryName.textContent = entry.name;
    el.serviceEntryFacts.replaceChildren();
    const facts = el.serviceEntryFacts;
    term("요약 · Summary", entry.summary, facts);
    term("신청 자격 · Who can apply", entry.who_can_apply, facts);
    term("서류 · Documents", entry.documents.join(", ") || "없음 · None", facts);
    term("수수료 · Fee", entry.fee, facts);
    term("신청 방법 · How to apply", entry.how_to_apply, facts);
    term("처리 기간 · Processing time", entry.processing_time, facts);
    if (entry.accessibility) term("접근성 · Accessibility", entry.accessibility, facts);
    // Where the facts come from, to check one with the citizen watching.
    const sources = document.createElement("ul");
    for (const source of entry.sources) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = source.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.textContent = source.title;
      item.append(link);
      sources.append(item);
    }
    term("출처 · Sources", "", facts).append(sources);
    el.serviceEntryReviewed.textContent =
      `확인한 날 · Checked ${entry.reviewed} — ${entry.reviewed_by}`;
    el.serviceEntry.hidden = false;
  }

  function hideSession() {
    hangUp();
    openId = null;
    el.session.hidden = true;
    shownTurns.clear();
    lastTurnId = 0;
    el.transcript.replaceChildren();
    renderQueue();
  }

  async function openSession(id, focus = true) {
    clearError();
    try {
      // Opening reads (and audits) the whole transcript; updates ask for what is new.
      const after = id === openId && lastTurnId > 0 ? `?after=${lastTurnId}` : "";
      showSession(await api(`${API}/requests/${id}${after}`), focus);
    } catch (error) {
      if (error.status === 404) {
        if (openId === id) {
          say("이 상담은 끝났습니다 · This session has ended");
          hideSession();
        }
        refreshQueue().catch(failed);
      } else {
        failed(error);
      }
    }
  }

  // ---- call-backs --------------------------------------------------------------------
  // The number shows masked; "show" fetches it whole (audited on the server), and it is
  // masked again when the panel is drawn anew.
  let revealed = null; // {id, number} of the open request, while shown whole

  async function loadCallback(id) {
    let view;
    try {
      view = await api(`${API}/requests/${id}/callback`);
    } catch (error) {
      if (error.status === 404) { el.callback.hidden = true; return; }
      throw error;
    }
    if (openId !== id) return;
    el.callbackDetails.replaceChildren();
    term("방법 · How", label(CONTACTS, view.contact), el.callbackDetails);
    const number = revealed && revealed.id === id ? revealed.number : view.number_masked;
    term("번호 · Number", number || label(NUMBER_STATES, view.state), el.callbackDetails);
    if (view.number_masked) {
      term("문자 · Texts", view.can_text ? "받을 수 있음 · Can get texts" : "받을 수 없음 (휴대전화 아님) · Cannot get texts (not a mobile)", el.callbackDetails);
    }
    if (view.next_try_at) term("다음 시도 · Next try", clock(view.next_try_at), el.callbackDetails);
    term("남은 시도 · Tries left", String(view.tries_left), el.callbackDetails);
    el.callbackReveal.hidden = !view.number_masked || Boolean(revealed && revealed.id === id);
    const calling = view.attempts.some((a) => a.outcome === null);
    el.callbackCall.hidden = view.contact !== "callback" || !view.number_masked;
    el.callbackCall.disabled = calling || view.tries_left === 0;
    el.callbackAttempts.replaceChildren();
    view.attempts.forEach((a) => {
      const li = document.createElement("li");
      const outcome = a.outcome ? label(OUTCOMES, a.outcome) : "거는 중 · Calling…";
      const retry = a.retry_at ? ` — 다시 · again ${clock(a.retry_at)}` : "";
      li.textContent = `${clock(a.started_at)} ${a.person}: ${outcome}${retry}`;
      el.callbackAttempts.append(li);
    });
    el.callbackNone.hidden = view.attempts.length > 0;
    el.callback.hidden = false;
  }

  el.callbackReveal.addEventListener("click", async () => {
    if (openId == null) return;
    const id = openId;
    clearError();
    try {
      const { number } = await api(`${API}/requests/${id}/callback/reveal`, { method: "POST" });
      revealed = { id, number };
      await loadCallback(id);
      say(`번호 · Number ${number}`);
    } catch (error) {
      failed(error);
    }
  });

  el.callbackCall.addEventListener("click", async () => {
    if (openId == null) return;
    const id = openId;
    clearError();
    el.callbackCall.disabled = true;
    try {
      await api(`${API}/requests/${id}/callback/call`, { method: "POST" });
      say("내 전화가 곧 울립니다 · Your phone will ring now");
      await loadCallback(id);
    } catch (error) {
      el.callbackCall.disabled = false;
      if (error.status === 409) showError(error.message);
      else failed(error);
    }
  });

  // ---- earlier sessions ----------------------------------------------------------------
  const OUTCOME_WORDS = {
    resolved: "해결 · Resolved",
    handed_back: "도우미에게 돌려줌 · Handed back",
    cancelled: "취소 · Cancelled",
    expired: "만료 · Expired",
    timed_out: "시간 초과 · Timed out",
    transferred: "센터로 연결 · Transferred",
    dismissed: "정리됨 · Dismissed",
  };
  async function loadHistory(id) {
    const history = await api(`${API}/requests/${id}/history`);
    if (openId !== id) return;
    const list = $("history-requests");
    list.replaceChildren();
    history.requests.forEach((r) => {
      const li = document.createElement("li");
      const when = r.ended_at ? new Date(r.ended_at).toLocaleDateString("ko-KR") : "";
      const head = `${when} ${label(CHANNELS, r.channel)} — ${label(OUTCOME_WORDS, r.outcome)}${r.by ? ` (${r.by})` : ""}`;
      li.textContent = r.notes ? `${head}: ${r.notes}` : head;
      list.append(li);
    });
    const conversations = $("history-conversations");
    conversations.replaceChildren();
    history.conversations.forEach((c) => {
      const li = document.createElement("li");
      const what = `${label(CHANNELS, c.channel)} ${new Date(c.started_at).toLocaleDateString("ko-KR")} – ${new Date(c.last_at).toLocaleDateString("ko-KR")}`;
      const text = document.createElement("span");
      text.textContent = what;
      // Reading it is audited; it opens only while the number's consent holds.
      const read = button("대화 읽기 · Read", () => readEarlier(id, c.handle, li, read), "secondary");
      read.setAttribute("aria-label", `대화 읽기 · Read: ${what}`);
      li.append(text, " ", read);
      conversations.append(li);
    });
    $("history-count").textContent = String(history.requests.length);
    $("history-consent").textContent = history.consent
      ? "시민이 번호 저장에 동의해 같은 번호의 다른 대화도 보입니다. · The citizen agreed to be remembered: their number's other conversations are included."
      : "이 대화의 이전 상담만 보입니다. · Only this conversation's earlier sessions are shown.";
    $("history").hidden = history.requests.length === 0 && history.conversations.length === 0;
  }

  async function readEarlier(id, handle, item, trigger) {
    clearError();
    try {
      const turns = await api(`${API}/requests/${id}/history/${handle}`);
      if (openId !== id) return;
      const list = document.createElement("ol");
      list.className = "transcript";
      turns.forEach((turn) => {
        const li = document.createElement("li");
        li.className = turn.sender;
        li.textContent = `${sender(turn)}: ${turn.text}`;
        list.append(li);
      });
      trigger.remove();
      item.append(list);
      say(`이전 대화 ${turns.length}개 메시지 · ${turns.length} message(s) of the earlier conversation`);
    } catch (error) {
      failed(error);
    }
  }

  // ---- passing a session on ------------------------------------------------------------
  const passOnPanel = $("pass-on-panel");
  const passOnTo = $("pass-on-to");
  passOnPanel.addEventListener("toggle", async () => {
    if (!passOnPanel.open || openId == null) return;
    clearError();
    try {
      const people = await api(`${API}/requests/${openId}/colleagues`);
      passOnTo.replaceChildren();
      if (!people.length) {
        const none = document.createElement("option");
        none.value = "";
        none.textContent = "지금 받을 수 있는 사람이 없습니다 · Nobody can take it now";
        passOnTo.append(none);
      }
      people.forEach((p) => {
        const option = document.createElement("option");
        option.value = p.username;
        option.textContent = p.centre ? `${p.name} (${p.centre})` : p.name;
        passOnTo.append(option);
      });
    } catch (error) {
      failed(error);
    }
  });
  $("pass-on").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (openId == null || !passOnTo.value) return;
    clearError();
    const id = openId;
    try {
      await api(`${API}/requests/${id}/pass-on`, {
        method: "POST",
        body: { to: passOnTo.value, note: $("pass-on-note").value.trim() || null },
      });
      $("pass-on-note").value = "";
      passOnPanel.open = false;
      say("상담을 넘겼습니다 · Session passed on");
      hideSession();
      refreshQueue().catch(failed);
    } catch (error) {
      if (error.status === 409) showError(error.message);
      else failed(error);
    }
  });

  $("offer-accept").addEventListener("click", () => { if (openId != null) accept(openId); });
  $("offer-decline").addEventListener("click", () => { if (openId != null) decline(openId); });

  el.reply.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = el.replyText.value.trim();
    if (!text || openId == null) return;
    clearError();
    try {
      const turn = await api(`${API}/requests/${openId}/messages`, { method: "POST", body: { text } });
      el.replyText.value = "";
      addTurn(turn);
    } catch (error) {
      if (error.status === 409 || error.status === 404) {
        showError("이 상담을 맡고 있지 않아 보낼 수 없습니다. · You do not hold this session; not sent.");
      } else {
        failed(error);
      }
    }
  });
  el.replyText.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      el.reply.requestSubmit();
    }
  });

  // ---- video -------------------------------------------------------------------------
  // The states SotongVideoCall reports (channels/video_static/video.js).
  function callState(state, detail = {}) {
    const texts = {
      starting: "카메라와 마이크를 켜는 중… · Starting camera and microphone…",
      "media-blocked": "카메라나 마이크를 쓸 수 없습니다. 브라우저 권한을 확인해 주세요. 상대 화면은 계속 볼 수 있습니다. · Camera or microphone unavailable: check the browser's permission. You can still see the citizen.",
      connecting: "연결 중… · Connecting…",
      waiting: detail.peerLeft
        ? "시민이 나갔습니다. 다시 들어오기를 기다립니다 · The citizen left; waiting for them to come back"
        : "시민이 들어오기를 기다립니다. 시민에게 주소를 보냈습니다 · Waiting for the citizen; they were sent the link",
      "peer-replaced": "시민 쪽 연결이 새 연결로 바뀌었습니다 · The citizen's connection was replaced",
      joining: "시민이 들어왔습니다. 연결하는 중… · The citizen joined; connecting…",
      connected: "연결되었습니다 · Connected",
      interrupted: "연결이 불안정합니다. 다시 잇는 중… · The connection is unstable; restoring…",
      reconnecting: "다시 연결하는 중… · Reconnecting…",
      ended: detail.by === "peer"
        ? "시민이 통화를 끊었습니다 · The citizen hung up"
        : "통화가 끝났습니다 · The call ended",
      closed: detail.reason === "not-signed-in"
        ? "로그인이 끝났습니다. 다시 로그인해 주세요 · You were signed out; please sign in again"
        : detail.reason === "replaced"
          ? "다른 창에서 이 통화를 열었습니다 · The call was opened in another window"
          : "영상 통화를 열 수 없습니다 (상담을 맡고 있지 않음) · The call cannot be opened (you do not hold this session)",
    };
    el.callState.textContent = texts[state] || String(state);
    if (state === "peer-replaced" && detail.role === "citizen") {
      // Kept in view for the rest of the call: a reload does this too, but so does
      // someone else opening a forwarded link (review L9).
      const at = new Date().toLocaleTimeString("ko-KR", { hour: "2-digit", minute: "2-digit" });
      el.callNotice.textContent =
        `${at} 시민 쪽 연결이 다른 화면(새로 고침, 다른 창이나 기기)의 새 연결로 바뀌었습니다. ` +
        "같은 분인지 확인해 주세요. · The citizen's side of the call was taken over by a new " +
        "connection (a reload, another window or device): check it is still the same person.";
      el.callNotice.hidden = false;
    }
    if (state === "connected") say("영상 통화가 연결되었습니다 · The video call is connected");
    if (state === "ended" || state === "closed") {
      el.videoStart.disabled = false;
      if (detail.by === "peer") say(texts.ended);
    }
  }

  function hangUp() {
    if (call) {
      try { call.hangUp(); } catch (e) { /* already gone */ }
      call = null;
    }
    el.call.hidden = true;
    el.videoStart.disabled = false;
  }

  el.videoStart.addEventListener("click", async () => {
    if (openId == null) return;
    clearError();
    const Call = window.SotongVideoCall; // from /static/video/video.js
    if (!Call) {
      showError("영상 통화를 불러오지 못했습니다. 페이지를 새로 고쳐 주세요. · The video call did not load; please reload.");
      return;
    }
    try {
      const result = await api(`${API}/requests/${openId}/video`, { method: "POST" });
      const url = new URL(result.join_url, location.origin).href;
      el.joinLink.textContent = `시민에게 영상 통화 주소를 보냈습니다 · The citizen was sent the call link: ${url}`;
      el.joinLink.hidden = false;
      hangUp();
      el.callNotice.hidden = true;
      el.callNotice.textContent = "";
      el.call.hidden = false;
      el.videoStart.disabled = true;
      micOn = true;
      cameraOn = true;
      el.callMic.textContent = "마이크 끄기 · Turn microphone off";
      el.callCamera.textContent = "카메라 끄기 · Turn camera off";
      callState("connecting");
      call = new Call({
        requestId: openId,
        role: "person",
        localVideo: $("local-video"),
        remoteVideo: $("remote-video"),
        onState: callState,
      });
      window.sotongCall = call; // for the browser test and for debugging
      await call.start();
    } catch (error) {
      if (error instanceof ApiError) {
        if (error.status === 404 || error.status === 409) {
          showError("이 상담을 맡고 있지 않아 영상 통화를 시작할 수 없습니다. · You do not hold this session.");
        } else {
          failed(error);
        }
      } else {
        callState("media-blocked");
      }
    }
  });

  el.callMic.addEventListener("click", () => {
    if (!call) return;
    micOn = !micOn;
    call.setMicrophone(micOn);
    el.callMic.textContent = micOn ? "마이크 끄기 · Turn microphone off" : "마이크 켜기 · Turn microphone on";
    say(micOn ? "마이크 켜짐 · Microphone on" : "마이크 꺼짐 · Microphone off");
  });
  el.callCamera.addEventListener("click", () => {
    if (!call) return;
    cameraOn = !cameraOn;
    call.setCamera(cameraOn);
    el.callCamera.textContent = cameraOn ? "카메라 끄기 · Turn camera off" : "카메라 켜기 · Turn camera on";
    say(cameraOn ? "카메라 켜짐 · Camera on" : "카메라 꺼짐 · Camera off");
  });
  $("call-hangup").addEventListener("click", () => {
    hangUp();
    say("통화를 끊었습니다 · You hung up");
    el.videoStart.focus();
  });

  // ---- closing -----------------------------------------------------------------------
  el.closeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (openId == null) return;
    const handBack = event.submitter && event.submitter.value === "hand_back";
    const noShow = event.submitter && event.submitter.value === "no_show";
    const notes = el.closeNotes.value.trim();
    const words = $("close-words").value.trim();
    clearError();
    closingId = openId;
    try {
      if (noShow) {
        await api(`${API}/requests/${openId}/no-show`, { method: "POST", body: { notes: notes || null } });
        say("오지 않음으로 기록했습니다 · Recorded: the citizen did not come");
      } else {
        await api(`${API}/requests/${openId}/close`, {
          method: "POST",
          body: { notes: notes || null, hand_back: handBack, closing_words: words || null },
        });
        $("close-words").value = "";
        say(handBack
          ? "소통 도우미에게 돌려주었습니다 · Handed back to the assistant"
          : "상담을 마쳤습니다 · Session closed");
      }
      hideSession();
      await refreshQueue();
      $("mine-heading").focus();
    } catch (error) {
      failed(error);
    } finally {
      closingId = null;
    }
  });
  $("mine-heading").tabIndex = -1;

  // ---- live updates ------------------------------------------------------------------
  let socket = null;
  let retryMs = 1000;
  let pinger = null;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}${API}/ws`);
    socket.onopen = () => {
      retryMs = 1000;
      el.connection.textContent = "실시간 연결됨 · Live";
      el.connection.className = "connection live";
      pinger = window.setInterval(() => {
        if (socket && socket.readyState === WebSocket.OPEN) socket.send("ping");
      }, PING_MS);
      // Changes made while we were away were not pushed: fetch everything again.
      refreshQueue().catch(failed);
      if (openId != null) openSession(openId, false);
    };
    socket.onmessage = (event) => {
      if (event.data === "pong") return;
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      const mine = openId != null && data.request_id === openId && closingId !== openId;
      if (data.type === "changed") {
        refreshSoon();
        if (mine) openSession(openId, false);
      } else if (data.type === "message") {
        if (mine) {
          openSession(openId, false);
        } else {
          say(`상담 #${data.request_id}에 새 메시지 · New message in session #${data.request_id}`);
        }
      }
    };
    socket.onclose = (event) => {
      window.clearInterval(pinger);
      socket = null;
      if (event.code === 4401) {
        toLogin();
        return;
      }
      el.connection.textContent = "연결이 끊겼습니다. 다시 연결하는 중… · Connection lost; reconnecting…";
      el.connection.className = "connection lost";
      window.setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    };
  }

  // Wait times grow between pushes.
  window.setInterval(tick, TICK_MS);

  loadMe()
    .then(refreshQueue)
    .then(connect)
    .catch((error) => {
      failed(error);
      // Still listen: the first change that arrives fetches everything again.
      if (error.status !== 401) connect();
    });
})();
