/* Admin view: handoff figures drawn as inline SVG charts, each with a title, a short
   description for screen readers and a data table alternative (accounts: admin-accounts.js).
   Plain JavaScript, no framework, no chart library. */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var csrf = "";
  var $ = function (id) { return document.getElementById(id); };
  var CHANNELS = { webchat: "웹 채팅 · Web chat", sms: "문자 · SMS", voice: "전화 · Phone", desk: "창구 · Desk", all: "전체 · All" };

  function showError(text) { $("error").textContent = text; $("error").hidden = !text; }

  function api(method, path) {
    var headers = { "Accept": "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    return fetch(path, { method: method, headers: headers, credentials: "same-origin" }).then(function (response) {
      if (response.status === 401) {
        window.location.assign("/login?next=" + encodeURIComponent("/admin"));
        throw new Error("signed out");
      }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error((data && data.detail) || ("HTTP " + response.status));
        return data;
      });
    });
  }

  function el(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function minutes(seconds) { return seconds === null || seconds === undefined ? null : seconds / 60; }
  function fmt(value, digits) { return value === null || value === undefined ? "–" : value.toFixed(digits); }
  function pct(share) { return share === null || share === undefined ? "–" : Math.round(share * 100) + "%"; }
  function shortDay(iso) { var p = iso.split("-"); return Number(p[1]) + "/" + Number(p[2]); }

  function fillTable(table, caption, head, rows) {
    table.textContent = "";
    var cap = el("caption", caption);
    table.appendChild(cap);
    var thead = el("thead");
    var tr = el("tr");
    head.forEach(function (h) { var th = el("th", h); th.scope = "col"; tr.appendChild(th); });
    thead.appendChild(tr);
    table.appendChild(thead);
    var tbody = el("tbody");
    rows.forEach(function (row) {
      var r = el("tr");
      row.forEach(function (cell, i) {
        var c = el(i === 0 ? "th" : "td", cell);
        if (i === 0) c.scope = "row";
        r.appendChild(c);
      });
      tbody.appendChild(r);
    });
    table.appendChild(tbody);
  }

  var NO_DATA = "이 기간에는 자료가 없습니다 · No data for this period";

  function noData(chart, width, height) {
    chart.appendChild(svg("text", { x: width / 2, y: height / 2, class: "value", "text-anchor": "middle" }, NO_DATA));
  }

  /* Vertical bars: one per label. values may hold null (drawn as a gap). */
  function columnChart(box, id, title, description, labels, values, format) {
    box.textContent = "";
    var width = 720, height = 260, left = 44, bottom = 36, top = 16;
    var max = Math.max.apply(null, values.map(function (v) { return v || 0; }).concat([1]));
    var chart = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img", "aria-labelledby": id + "-t " + id + "-d", class: "bars" });
    chart.appendChild(svg("title", { id: id + "-t" }, title));
    chart.appendChild(svg("desc", { id: id + "-d" }, description));
    var plotH = height - bottom - top, plotW = width - left - 8;
    chart.appendChild(svg("line", { x1: left, y1: top + plotH, x2: width - 8, y2: top + plotH, class: "axis" }));
    chart.appendChild(svg("text", { x: left - 6, y: top + 4, class: "tick", "text-anchor": "end" }, format(max)));
    chart.appendChild(svg("text", { x: left - 6, y: top + plotH, class: "tick", "text-anchor": "end" }, "0"));
    var step = plotW / Math.max(labels.length, 1);
    var every = Math.ceil(labels.length / 12);
    labels.forEach(function (label, i) {
      var value = values[i];
      var x = left + i * step;
      if (value !== null && value !== undefined) {
        var h = (value / max) * plotH;
        var bar = svg("rect", { x: x + step * 0.15, y: top + plotH - h, width: Math.max(step * 0.7, 1), height: h, class: "bar" });
        bar.appendChild(svg("title", {}, label + ": " + format(value)));
        chart.appendChild(bar);
      }
      if (i % every === 0) {
        chart.appendChild(svg("text", { x: x + step / 2, y: height - 14, class: "tick", "text-anchor": "middle" }, label));
      }
    });
    if (!values.some(function (v) { return v; })) noData(chart, width, height / 2);
    box.appendChild(chart);
  }

  /* Horizontal bars: one row per label, a value 0..max, the value written at its end. */
  function rowChart(box, id, title, description, labels, values, max, format) {
    box.textContent = "";
    var rowH = 34, left = 210, width = 720;
    var height = Math.max(labels.length, 1) * rowH + 10;
    var chart = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img", "aria-labelledby": id + "-t " + id + "-d", class: "bars" });
    chart.appendChild(svg("title", { id: id + "-t" }, title));
    chart.appendChild(svg("desc", { id: id + "-d" }, description));
    var plotW = width - left - 80;
    labels.forEach(function (label, i) {
      var y = 5 + i * rowH;
      var value = values[i] || 0;
      chart.appendChild(svg("text", { x: left - 8, y: y + rowH * 0.6, class: "tick", "text-anchor": "end" }, label));
      var w = max ? (value / max) * plotW : 0;
      var bar = svg("rect", { x: left, y: y + 4, width: Math.max(w, 1), height: rowH - 10, class: "bar" });
      bar.appendChild(svg("title", {}, label + ": " + format(values[i])));
      chart.appendChild(bar);
      chart.appendChild(svg("text", { x: left + w + 6, y: y + rowH * 0.6, class: "value" }, format(values[i])));
    });
    if (!labels.length) noData(chart, width, height + 10);
    box.appendChild(chart);
  }

  function totals(f) {
    var dl = $("totals");
    dl.textContent = "";
    [
      ["사람 연결 요청 · Requests", String(f.requests)],
      ["기다린 시간 중앙값 · Median wait", fmt(minutes(f.wait.p50_seconds), 1) + " 분 · min"],
      ["기다린 시간 90% · 90th percentile wait", fmt(minutes(f.wait.p90_seconds), 1) + " 분 · min"],
      ["연결된 요청 · Accepted", String(f.wait.accepted)],
      ["시민이 취소 · Cancelled by the citizen", String(f.abandoned)],
      ["시간 초과 · Expired", String(f.expired)],
      ["상담 종료 · Resolved", String(f.resolved)],
      ["도우미에게 돌려줌 · Handed back", String(f.handed_back)],
      ["도우미 혼자 해결 · Handled alone", pct(f.containment.share) + " (" + f.containment.contained + " / " + f.containment.conversations + ")"]
    ].forEach(function (pair) {
      var item = el("div");
      item.appendChild(el("dt", pair[0]));
      item.appendChild(el("dd", pair[1]));
      dl.appendChild(item);
    });
  }

  function draw(f) {
    totals(f);
    var labels = f.days.map(function (d) { return shortDay(d.day); });
    var counts = f.days.map(function (d) { return d.requests; });
    var busiest = f.days.reduce(function (a, d) { return d.requests > a.requests ? d : a; }, { requests: -1, day: "" });
    columnChart($("chart-requests"), "c-req", "날마다 사람 연결 요청 · Requests per day",
      "모두 " + f.requests + "건. 가장 많은 날 " + (busiest.day || "-") + ", " + Math.max(busiest.requests, 0) + "건. · " +
      f.requests + " in all; busiest day " + (busiest.day || "-") + " with " + Math.max(busiest.requests, 0) + ".",
      labels, counts, function (v) { return String(Math.round(v)); });
    fillTable($("table-requests"), "날마다 요청 수 · Requests per day", ["날짜 · Day", "요청 · Requests"],
      f.days.map(function (d) { return [d.day, String(d.requests)]; }));

    var waits = f.days.map(function (d) { return minutes(d.median_wait_seconds); });
    columnChart($("chart-waits"), "c-wait", "날마다 기다린 시간 중앙값 (분) · Median wait per day (minutes)",
      "기간 전체 중앙값 " + fmt(minutes(f.wait.p50_seconds), 1) + "분, 90% " + fmt(minutes(f.wait.p90_seconds), 1) + "분. · " +
      "Median over the period " + fmt(minutes(f.wait.p50_seconds), 1) + " min, 90th percentile " + fmt(minutes(f.wait.p90_seconds), 1) + " min.",
      labels, waits, function (v) { return fmt(v, 1); });
    fillTable($("table-waits"), "날마다 기다린 시간 중앙값 · Median wait per day", ["날짜 · Day", "중앙값 (분) · Median (min)"],
      f.days.map(function (d) { return [d.day, fmt(minutes(d.median_wait_seconds), 1)]; }));

    var channels = f.containment_by_channel;
    rowChart($("chart-containment"), "c-cont", "도우미가 혼자 해결한 비율 · Share handled alone",
      "전체 " + pct(f.containment.share) + ". · " + pct(f.containment.share) + " overall.",
      channels.map(function (c) { return CHANNELS[c.channel] || c.channel; }),
      channels.map(function (c) { return c.share === null ? 0 : c.share * 100; }), 100,
      function (v) { return Math.round(v || 0) + "%"; });
    fillTable($("table-containment"), "채널별 해결 비율 · Handled alone, by channel",
      ["채널 · Channel", "대화 · Conversations", "사람 요청 · Asked for a person", "혼자 해결 · Handled alone", "비율 · Share"],
      channels.concat([f.containment]).map(function (c) {
        return [CHANNELS[c.channel] || c.channel, String(c.conversations), String(c.with_handoff), String(c.contained), pct(c.share)];
      }));

    var people = f.interpreters;
    var most = Math.max.apply(null, people.map(function (p) { return p.accepted; }).concat([1]));
    rowChart($("chart-people"), "c-people", "사람별 맡은 상담 · Sessions per person",
      people.length + "명이 상담을 맡았습니다. · " + people.length + " people took sessions.",
      people.map(function (p) { return p.name || p.id; }), people.map(function (p) { return p.accepted; }), most,
      function (v) { return String(v || 0); });
    fillTable($("table-people"), "사람별 상담 · Sessions per person",
      ["이름 · Name", "맡은 상담 · Accepted", "종료 · Resolved", "돌려줌 · Handed back", "진행 중 · Open"],
      people.map(function (p) {
        return [(p.name || "") + " (" + p.id + ")", String(p.accepted), String(p.resolved), String(p.handed_back), String(p.open)];
      }));
    drawHelped("channel", "채널 · Channel", f.satisfaction_by_channel, function (k) { return CHANNELS[k] || k; });
    drawHelped("service", "민원 · Service", f.satisfaction_by_service, function (k) { return k || "정하지 않음 · None"; });
    drawHelped("centre", "지역 · Centre", f.satisfaction_by_centre, function (k) { return k || "전체 · Any"; });
    $("status").textContent = "불러왔습니다 · Loaded: " + new Date().toLocaleString("ko-KR");
  }

  // Closing the loop: of those who answered "did it help?", the share who said yes.
  function drawHelped(key, heading, groups, name) {
    var answered = groups.reduce(function (n, g) { return n + g.answered; }, 0);
    rowChart($("chart-help-" + key), "c-help-" + key, "도움이 되었다는 답 · Said it helped",
      answered + "명이 답했습니다. · " + answered + " answered.",
      groups.map(function (g) { return name(g.key); }),
      groups.map(function (g) { return g.helpful_share === null ? 0 : g.helpful_share * 100; }), 100,
      function (v) { return Math.round(v || 0) + "%"; });
    fillTable($("table-help-" + key), "도움 여부와 해결, " + heading,
      [heading, "요청 · Requests", "사람이 마침 · Closed by a person", "해결 비율 · Resolved", "답함 · Answered", "도움됨 · Helped", "비율 · Share"],
      groups.map(function (g) {
        return [name(g.key), String(g.requests), String(g.resolved), pct(g.resolution_share),
          String(g.answered), String(g.helpful), pct(g.helpful_share)];
      }));
  }

  function loadFigures() {
    $("status").textContent = "불러오는 중… · Loading…";
    return api("GET", "/api/admin/figures?days=" + encodeURIComponent($("days").value)).then(draw);
  }

  $("period").addEventListener("submit", function (event) {
    event.preventDefault();
    loadFigures().catch(function (error) { showError(error.message); });
  });

  $("logout").addEventListener("click", function () {
    fetch("/api/auth/logout", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" })
      .catch(function () {}).then(function () { window.location.assign("/login"); });
  });

  api("GET", "/api/auth/me").then(function (me) {
    csrf = me.csrf_token;
    $("who").textContent = (me.account.name || "") + " (" + me.account.username + ")";
    return loadFigures();
  }).catch(function (error) { if (error.message !== "signed out") showError(error.message); });
})();
