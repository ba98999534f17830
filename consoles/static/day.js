// "My appointments today" on the console: the rows of GET /api/console/day.
// Rendering only (the console's own script fetches and calls SotongDay.render).
(function () {
  const CONTACTS = {
    video: "영상 통화 · Video call",
    callback: "전화 회신 · Call back",
    text: "문자 회신 · Text back",
  };
  const STATES = {
    waiting: "기다리는 중 · Booked",
    offered: "나에게 배정됨 · Offered to me",
    accepted: "수락함 · Accepted",
    in_session: "상담 중 · In session",
    resolved: "마침 · Done",
    abandoned: "취소됨 · Called off",
    expired: "아무도 받지 못함 · Nobody took it",
  };
  const OUTCOMES = {
    no_show: "오지 않음 · Did not come",
    cancelled: "시민이 취소 · Called off by the citizen",
    handed_back: "도우미에게 돌려줌 · Handed back",
  };
  // The languages a request is filed under (Sotong's two and the foreign residents'
  // nine, assistant/foreign_detect.py); interpreter.js reads them from here too.
  const LANGUAGES = {
    ko: "한국어 · Korean",
    en: "영어 · English",
    zh: "중국어 · Chinese",
    vi: "베트남어 · Vietnamese",
    ja: "일본어 · Japanese",
    th: "태국어 · Thai",
    ru: "러시아어 · Russian",
    mn: "몽골어 · Mongolian",
    uz: "우즈베크어 · Uzbek",
    tl: "필리핀어 · Filipino",
    ne: "네팔어 · Nepali",
  };

  function time(iso) {
    return new Date(iso).toLocaleTimeString("ko-KR", {
      hour: "2-digit", minute: "2-digit", timeZone: "Asia/Seoul",
    });
  }

  function state(item) {
    const outcome = item.outcome && OUTCOMES[item.outcome];
    const text = outcome || STATES[item.state] || item.state;
    return item.booked_with_me || item.held_by_me ? text : `${text} (누구나 · anyone)`;
  }

  function render(day, body, table, empty) {
    body.replaceChildren();
    for (const item of day.appointments) {
      const row = document.createElement("tr");
      const service = item.service ? `${item.service.ko} · ${item.service.en}` : "—";
      for (const text of [time(item.at), CONTACTS[item.contact] || item.contact, service,
        LANGUAGES[item.language] || item.language, state(item)]) {
        const td = document.createElement("td");
        td.textContent = text;
        row.append(td);
      }
      body.append(row);
    }
    table.hidden = day.appointments.length === 0;
    empty.hidden = day.appointments.length > 0;
  }

  window.SotongDay = { render, LANGUAGES };
})();
