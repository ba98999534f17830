/* Desk console: the tools around an open visit (/api/staff/…): record its outcome (a
   follow-up date may become a reminder text), find the citizen's earlier conversations
   by number with their consent, hand the visit to a colleague. Uses staff.js's
   window.SotongDesk (the open visit, the API with its CSRF token). */
(function () {
  "use strict";

  var desk = window.SotongDesk;
  if (!desk) return; // the printable summary page loads no tools
  var $ = function (id) { return document.getElementById(id); };
  var CHANNELS = { webchat: "웹 채팅 · Web chat", sms: "문자 · SMS", voice: "전화 · Phone", desk: "창구 · Desk" };
  var STATES = {
    waiting: "기다림 · Waiting", offered: "배정됨 · Offered", accepted: "수락됨 · Accepted",
    in_session: "상담 중 · In session", resolved: "마침 · Done", abandoned: "취소됨 · Cancelled",
    expired: "연결 못 함 · Expired"
  };

  function day(iso) {
    return new Date(iso).toLocaleDateString("ko-KR", { timeZone: "Asia/Seoul" });
  }

  function path(tail) { return "/api/staff/sessions/" + desk.visitId() + tail; }

  $("outcome").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!desk.visitId()) return;
    desk.showError("");
    var form = event.target;
    var outcome = form.querySelector("input[name=outcome]:checked").value;
    var body = { outcome: outcome };
    if (outcome === "referred") body.referred_to = $("outcome-referred-to").value.trim() || null;
    if (outcome === "follow_up") {
      body.follow_up_on = $("outcome-date").value || null;
      body.remind_phone = $("outcome-phone").value.trim() || null;
    }
    desk.api("POST", path("/outcome"), body).then(function (done) {
      var reminded = done.reminders
        ? " " + done.to + " 번호로 알림 " + done.reminders + "건 · " + done.reminders + " reminder(s) to " + done.to
        : "";
      desk.announce("결과를 기록했습니다 · Outcome recorded." + reminded);
      form.reset();
    }).catch(function (error) { desk.showError(error.message); });
  });

  $("earlier").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!desk.visitId()) return;
    desk.showError("");
    desk.api("POST", path("/earlier"), {
      phone: $("earlier-phone").value.trim(),
      consent: $("earlier-consent").checked
    }).then(function (found) {
      var list = $("earlier-list");
      list.textContent = "";
      found.forEach(function (c) {
        var item = document.createElement("li");
        var states = c.requests.map(function (r) { return STATES[r.state] || r.state; });
        item.textContent = day(c.started_at) + "–" + day(c.last_at) + " · " + (CHANNELS[c.channel] || c.channel) +
          " · " + (c.services.join(", ") || "민원 없음 · No service") +
          (states.length ? " · 사람 연결 · Person: " + states.join(", ") : "");
        list.appendChild(item);
      });
      $("earlier-none").hidden = found.length > 0;
      desk.announce("이전 상담 " + found.length + "건 · " + found.length + " earlier conversation(s)");
    }).catch(function (error) { desk.showError(error.message); });
  });

  $("hand-over-panel").addEventListener("toggle", function () {
    if (!$("hand-over-panel").open) return;
    desk.api("GET", "/api/staff/colleagues").then(function (people) {
      var select = $("hand-over-to");
      select.textContent = "";
      if (!people.length) {
        var none = document.createElement("option");
        none.value = "";
        none.textContent = "넘겨받을 수 있는 직원이 없습니다 · No colleague to hand to";
        select.appendChild(none);
      }
      people.forEach(function (p) {
        var option = document.createElement("option");
        option.value = p.username;
        option.textContent = p.centre ? p.name + " (" + p.centre + ")" : p.name;
        select.appendChild(option);
      });
    }).catch(function (error) { desk.showError(error.message); });
  });

  $("hand-over").addEventListener("submit", function (event) {
    event.preventDefault();
    var to = $("hand-over-to").value;
    if (!desk.visitId() || !to) return;
    desk.showError("");
    desk.api("POST", path("/hand-over"), { to: to, note: $("hand-over-note").value.trim() || null })
      .then(function (colleague) {
        event.target.reset();
        $("hand-over-panel").open = false;
        desk.announce(colleague.name + " 님에게 넘겼습니다 · Handed to " + colleague.name);
        return desk.closeVisit();
      }).then(function () { $("visits-heading").focus(); })
      .catch(function (error) { desk.showError(error.message); });
  });
})();
