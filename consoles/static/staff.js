/* Desk console (staff): walk-in visits with consent, the conversation with the
   assistant, calling an interpreter, the audit log and the printable summary.
   Plain JavaScript, no framework. Every POST carries the CSRF token from /api/auth/me.
   The same file wires the print button of the summary page (no inline script there). */
(function () {
  "use strict";

  if (document.body.classList.contains("summary")) {
    var printButton = document.getElementById("print-summary");
    if (printButton) printButton.addEventListener("click", function () { window.print(); });
    return;
  }

  var POLL_MS = 2000;
  var csrf = "";
  var current = null; // the open visit: {id, lastId, seen:Set}
  var polling = null;
  var busy = false;

  var $ = function (id) { return document.getElementById(id); };

  var NEEDS = {
    deaf: "농인 · Deaf",
    hard_of_hearing: "잘 들리지 않음 · Hard of hearing",
    low_vision: "잘 보이지 않음 · Low vision",
    easy_words: "쉬운 말 · Easy words",
    short_messages: "짧은 답 · Short answers",
    slow_speech: "천천히 · Slow speech"
  };
  var METHODS = { spoken: "말로 · Spoken", signed: "수어로 · Signed", written: "글로 · Written" };
  var LANGUAGES = { ko: "한국어 · Korean", en: "영어 · English" };
  var ACTIONS = {
    "walkin.start": "상담 시작 · Visit started",
    "walkin.message": "메시지 · Message",
    "walkin.interpreter": "통역 요청 · Interpreter called",
    "walkin.summary": "요약 인쇄 · Summary printed",
    "walkin.summary_texted": "요약 문자 발송 · Summary texted",
    "walkin.handed": "다른 직원에게 넘김 · Handed to a colleague",
    "walkin.outcome": "결과 기록 · Outcome recorded",
    "walkin.earlier": "이전 상담 찾기 · Earlier conversations looked up",
    "handoff.request": "사람 연결 요청 · Person requested",
    "handoff.accept": "요청 수락 · Request accepted",
    "handoff.message": "통역사 메시지 · Interpreter message",
    "handoff.video": "영상 통화 · Video call",
    "handoff.resolve": "상담 종료 · Session closed",
    "handoff.hand_back": "도우미에게 돌려줌 · Handed back"
  };

  function showError(text) {
    var el = $("error");
    el.textContent = text;
    el.hidden = !text;
  }

  function announce(text) {
    $("announce").textContent = "";
    window.setTimeout(function () { $("announce").textContent = text; }, 50);
  }

  function signIn() {
    window.location.assign("/login?next=" + encodeURIComponent("/staff"));
  }

  function api(method, path, body) {
    var options = { method: method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (method !== "GET") options.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      if (response.status === 401) { signIn(); throw new Error("signed out"); }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var detail = data && data.detail;
          if (Array.isArray(detail)) detail = detail.map(function (d) { return d.msg; }).join(" ");
          var error = new Error(detail || ("HTTP " + response.status));
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function time(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return d.toLocaleString("ko-KR", { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function needsText(accessibility) {
    var keys = Object.keys(accessibility || {}).filter(function (k) { return accessibility[k]; });
    return keys.length ? keys.map(function (k) { return NEEDS[k] || k; }).join(", ") : "없음 · None";
  }

  function detailText(detail) {
    return Object.keys(detail || {}).map(function (key) {
      var value = detail[key];
      if (value && typeof value === "object") {
        value = Array.isArray(value) ? value.join(", ") : Object.keys(value).filter(function (k) { return value[k]; }).join(", ");
      }
      return key + ": " + (value === null || value === undefined || value === "" ? "-" : value);
    }).join("; ");
  }

  // ---- the interpreter request's status, in words --------------------------------------
  function handoffText(status) {
    if (!status) return "";
    if (status.scheduled_for) {
      return "통역 예약됨: " + time(status.scheduled_for) + " · Interpreter booked: " + time(status.scheduled_for);
    }
    if (status.state === "accepted" || status.state === "in_session") {
      return "통역사가 연결되었습니다. 통역사의 말이 대화에 나옵니다. · An interpreter has joined; their messages appear in the conversation.";
    }
    if (status.state === "waiting" || status.state === "offered") {
      if (status.wait_minutes === null || status.wait_minutes === undefined) {
        return "지금 연결할 수 있는 통역사가 없습니다. 107 손말이음센터(영상 통화, 24시간)를 안내하세요. · " +
          "No interpreter is free now. Tell the citizen about the 107 relay centre (video call, day and night).";
      }
      return "통역사를 기다리는 중: " + status.position + "번째, 약 " + status.wait_minutes + "분 · " +
        "Waiting for an interpreter: number " + status.position + ", about " + status.wait_minutes + " minutes";
    }
    return "";
  }

  function setHandoff(status) {
    var text = handoffText(status);
    if ($("handoff-status").textContent !== text) $("handoff-status").textContent = text;
  }

  // ---- visits --------------------------------------------------------------------------
  function loadVisits() {
    return api("GET", "/api/staff/sessions").then(function (visits) {
      var list = $("visits");
      list.textContent = "";
      $("visits-empty").hidden = visits.length > 0;
      visits.forEach(function (visit) {
        var item = el("li");
        if (current && current.id === visit.id) item.setAttribute("aria-current", "true");
        item.appendChild(el("span", "", time(visit.started_at) + " · " + (LANGUAGES[visit.language] || visit.language) +
          " · " + needsText(visit.accessibility)));
        var open = el("button", "secondary", "열기 · Open");
        open.type = "button";
        open.setAttribute("aria-label", "열기 · Open: " + time(visit.started_at));
        open.addEventListener("click", function () { openVisit(visit); });
        item.appendChild(open);
        list.appendChild(item);
      });
    });
  }

  function openVisit(visit) {
    stopPolling();
    current = { id: visit.id, lastId: 0, seen: {} };
    $("transcript").textContent = "";
    $("choices").hidden = true;
    $("audit").hidden = true;
    $("audit-toggle").setAttribute("aria-expanded", "false");
    $("handoff-status").textContent = "";
    var context = $("context");
    context.textContent = "";
    [["시작 · Started", time(visit.started_at)],
     ["언어 · Language", LANGUAGES[visit.language] || visit.language],
     ["동의 · Consent", METHODS[visit.consent_method] || "-"],
     ["필요한 도움 · Needs", needsText(visit.accessibility)]].concat(visit.handed_by
      ? [["넘겨준 사람 · Handed over by", visit.handed_by],
         ["전달 메모 · Note", visit.note || "-"]] : []).forEach(function (pair) {
      context.appendChild(el("dt", "", pair[0]));
      context.appendChild(el("dd", "", pair[1]));
    });
    $("summary-link").href = "/staff/sessions/" + visit.id + "/summary";
    $("visit").hidden = false;
    $("visit-heading").focus();
    loadVisits().catch(function () {});
    poll(true);
  }

  function senderLabel(message) {
    if (message.sender === "citizen") return "시민 · Citizen";
    if (message.sender === "person") return "통역사 " + (message.author || "").replace(/^person:/, "") + " · Interpreter";
    return "도우미 · Assistant";
  }

  function renderMessage(message) {
    if (message.id !== null && current.seen[message.id]) return;
    if (message.id !== null) {
      current.seen[message.id] = true;
      current.lastId = Math.max(current.lastId, message.id);
    }
    var item = el("li", message.sender);
    var head = el("span", "who", senderLabel(message) + " ");
    item.appendChild(head);
    var stamp = el("time", "", time(message.created_at));
    if (message.created_at) stamp.dateTime = message.created_at;
    item.appendChild(stamp);
    item.appendChild(el("span", "text", message.text));
    $("transcript").appendChild(item);
    $("transcript").scrollTop = $("transcript").scrollHeight;
  }

  function renderChoices(messages) {
    var last = null;
    messages.forEach(function (m) { if (m.sender !== "citizen") last = m; });
    if (!last) return;
    var box = $("choices");
    box.textContent = "";
    (last.buttons || []).forEach(function (choice) {
      var button = el("button", "secondary", choice.title);
      button.type = "button";
      button.addEventListener("click", function () { send(choice.title, choice.payload); });
      box.appendChild(button);
    });
    box.hidden = !(last.buttons && last.buttons.length);
  }

  function poll(first) {
    if (!current || busy) { schedule(); return; }
    var visit = current;
    busy = true;
    api("GET", "/api/staff/sessions/" + visit.id + "?after=" + visit.lastId).then(function (data) {
      if (current !== visit) return;
      var fresh = data.messages.filter(function (m) { return m.id === null || !visit.seen[m.id]; });
      fresh.forEach(renderMessage);
      if (fresh.length) renderChoices(fresh);
      if (!first) {
        fresh.filter(function (m) { return m.sender === "person"; }).forEach(function () {
          announce("통역사의 새 메시지 · New message from the interpreter");
        });
      }
      setHandoff(data.handoff);
      showError("");
    }).catch(function (error) {
      if (error.status === 404) { showError("이 상담을 찾을 수 없습니다. · This visit was not found."); stopPolling(); }
      else showError("연결이 끊겼습니다. 다시 시도하는 중… · Connection lost. Retrying…");
    }).then(function () {
      busy = false;
      schedule();
    });
  }

  function schedule() {
    if (polling !== null || !current) return;
    polling = window.setTimeout(function () { polling = null; poll(false); }, POLL_MS);
  }

  function stopPolling() {
    if (polling !== null) window.clearTimeout(polling);
    polling = null;
  }

  function send(text, payload) {
    if (!current) return Promise.resolve();
    var body = { text: text };
    if (payload) body.payload = payload;
    return api("POST", "/api/staff/sessions/" + current.id + "/messages", body).then(function (result) {
      if (result.degraded) announce("도우미가 잠시 응답하지 않습니다. 메시지는 저장되었습니다. · The assistant is not answering; the message is kept.");
      setHandoff(result.handoff);
      stopPolling();
      poll(false);
    }).catch(function (error) { showError(error.message); });
  }

  // ---- forms ---------------------------------------------------------------------------
  $("start").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var startError = $("start-error");
    var method = form.querySelector("input[name=consent_method]:checked");
    if (!$("consent").checked || !method) {
      startError.textContent = !$("consent").checked
        ? "시민의 동의가 있어야 시작할 수 있습니다. · The citizen's consent is required."
        : "동의한 방법을 고르세요. · Choose how the citizen agreed.";
      startError.hidden = false;
      (!$("consent").checked ? $("consent") : $("method-spoken")).focus();
      return;
    }
    startError.hidden = true;
    var accessibility = {};
    form.querySelectorAll("input[name=need]:checked").forEach(function (box) { accessibility[box.value] = true; });
    api("POST", "/api/staff/sessions", {
      language: form.querySelector("input[name=language]:checked").value,
      consent: true,
      consent_method: method.value,
      accessibility: accessibility
    }).then(function (visit) {
      form.reset();
      announce("상담을 시작했습니다. · Visit started.");
      openVisit(visit);
      $("say-text").focus();
    }).catch(function (error) {
      startError.textContent = error.message;
      startError.hidden = false;
    });
  });

  $("say").addEventListener("submit", function (event) {
    event.preventDefault();
    var box = $("say-text");
    var text = box.value.trim();
    if (!text) return;
    box.value = "";
    send(text).then(function () { box.focus(); });
  });

  $("say-text").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("say").requestSubmit();
    }
  });

  $("interpreter").addEventListener("click", function () {
    if (!current) return;
    api("POST", "/api/staff/sessions/" + current.id + "/interpreter").then(function (status) {
      setHandoff(status);
      announce("수어 통역사를 요청했습니다. · Interpreter requested.");
    }).catch(function (error) { showError(error.message); });
  });

  $("text-summary").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!current) return;
    showError("");
    var phone = $("text-summary-phone").value.trim();
    api("POST", "/api/staff/sessions/" + current.id + "/text-summary", { phone: phone })
      .then(function (sent) {
        $("text-summary-phone").value = "";
        announce(sent.to + " 번호로 요약을 보냈습니다. · Summary texted to " + sent.to + ".");
      })
      .catch(function (error) { showError(error.message); });
  });

  $("audit-toggle").addEventListener("click", function () {
    var section = $("audit");
    var opening = section.hidden;
    $("audit-toggle").setAttribute("aria-expanded", String(opening));
    if (!opening) { section.hidden = true; return; }
    api("GET", "/api/staff/sessions/" + current.id + "/audit").then(function (entries) {
      var body = $("audit-body");
      body.textContent = "";
      entries.forEach(function (entry) {
        var row = el("tr");
        var when = el("td");
        var stamp = el("time", "", time(entry.at));
        stamp.dateTime = entry.at;
        when.appendChild(stamp);
        row.appendChild(when);
        row.appendChild(el("td", "", entry.actor + " (" + entry.role + ")"));
        row.appendChild(el("td", "", ACTIONS[entry.action] || entry.action));
        row.appendChild(el("td", "", detailText(entry.detail)));
        body.appendChild(row);
      });
      section.hidden = false;
    }).catch(function (error) { showError(error.message); });
  });

  $("logout").addEventListener("click", function () {
    api("POST", "/api/auth/logout").catch(function () {}).then(function () {
      window.location.assign("/login");
    });
  });

  // For desk-tools.js: the open visit, the API with the CSRF token, the visit list.
  window.SotongDesk = {
    visitId: function () { return current ? current.id : null; },
    api: api,
    announce: announce,
    showError: showError,
    closeVisit: function () {
      stopPolling();
      current = null;
      $("visit").hidden = true;
      return loadVisits();
    }
  };

  api("GET", "/api/auth/me").then(function (me) {
    csrf = me.csrf_token;
    var account = me.account || {};
    $("who").textContent = (account.name || "") + " (" + (account.username || "") + ")" +
      (account.centre ? " · " + account.centre : "");
    return loadVisits();
  }).catch(function (error) { if (error.message !== "signed out") showError(error.message); });
})();
