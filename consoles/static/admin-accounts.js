/* Admin view: the console accounts, managed in the page (/api/admin/accounts…): create,
   change name, centre, region, enable or disable, and an interpreter's or staff
   member's working details. Every change is audited by the gateway. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var ROLES = { staff: "직원 · Staff", interpreter: "통역사 · Interpreter", admin: "관리자 · Admin" };
  var csrf = "";
  var me = "";
  var editing = null; // the account shown in the edit form

  function showError(text) { $("error").textContent = text; $("error").hidden = !text; }
  function saved(text) { $("accounts-saved").textContent = text; }

  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      if (response.status === 401) {
        window.location.assign("/login?next=" + encodeURIComponent("/admin"));
        throw new Error("signed out");
      }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var detail = data && data.detail;
          if (Array.isArray(detail)) detail = detail.map(function (d) { return d.msg; }).join("; ");
          throw new Error(detail || ("HTTP " + response.status));
        }
        return data;
      });
    });
  }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function render(accounts) {
    var body = $("accounts-body");
    body.replaceChildren();
    accounts.forEach(function (a) {
      var row = document.createElement("tr");
      cell(row, a.username);
      cell(row, a.name);
      cell(row, ROLES[a.role] || a.role);
      cell(row, a.centre || "–");
      cell(row, a.region || "–");
      cell(row, a.active ? "사용 중 · Active" : "중지됨 · Disabled");
      var edit = document.createElement("button");
      edit.type = "button";
      edit.className = "secondary";
      edit.textContent = "바꾸기 · Edit";
      edit.setAttribute("aria-label", "바꾸기 · Edit: " + a.username);
      edit.addEventListener("click", function () { openEdit(a).catch(function (e) { showError(e.message); }); });
      cell(row, "").appendChild(edit);
      body.appendChild(row);
    });
  }

  function load() {
    return api("GET", "/api/admin/accounts").then(render);
  }

  function checkAll(name, values) {
    document.querySelectorAll("#account-edit input[name=" + name + "]").forEach(function (box) {
      box.checked = values.indexOf(box.value) >= 0;
    });
  }

  function checked(name) {
    return Array.prototype.map.call(
      document.querySelectorAll("#account-edit input[name=" + name + "]:checked"),
      function (box) { return box.value; });
  }

  function openEdit(account) {
    editing = account;
    $("account-edit-heading").textContent = "계정 바꾸기 · Edit account: " + account.username;
    $("edit-name").value = account.name;
    $("edit-centre").value = account.centre || "";
    $("edit-region").value = account.region || "";
    $("edit-active").checked = account.active;
    $("edit-active").disabled = account.username === me; // nobody disables themselves
    var work = $("edit-work");
    work.hidden = account.role === "admin";
    var ready = account.role === "admin" ? Promise.resolve(null)
      : api("GET", "/api/admin/accounts/" + encodeURIComponent(account.username) + "/work");
    return ready.then(function (details) {
      if (details) {
        $("edit-hours").value = details.work_hours || "";
        checkAll("skills", details.skills);
        checkAll("languages", details.languages);
        $("edit-phone").value = details.phone || "";
        $("edit-capacity").value = String(details.capacity);
      }
      $("account-edit").hidden = false;
      $("account-edit-heading").focus();
    });
  }

  function closeEdit() {
    editing = null;
    $("account-edit").hidden = true;
    $("accounts-heading").focus();
  }

  $("edit-cancel").addEventListener("click", closeEdit);

  $("account-edit").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!editing) return;
    showError("");
    var path = "/api/admin/accounts/" + encodeURIComponent(editing.username);
    var username = editing.username;
    var role = editing.role;
    api("PUT", path, {
      name: $("edit-name").value.trim(),
      centre: $("edit-centre").value.trim() || null,
      region: $("edit-region").value.trim() || null,
      active: $("edit-active").checked,
    }).then(function () {
      if (role === "admin") return null;
      return api("PUT", path + "/work", {
        work_hours: $("edit-hours").value.trim() || null,
        skills: checked("skills"),
        languages: checked("languages"),
        phone: $("edit-phone").value.trim() || null,
        capacity: Number($("edit-capacity").value || 1),
      });
    }).then(function () {
      saved("저장했습니다 · Saved: " + username);
      closeEdit();
      return load();
    }).catch(function (error) { showError(error.message); });
  });

  $("account-new").addEventListener("submit", function (event) {
    event.preventDefault();
    showError("");
    var form = event.target;
    api("POST", "/api/admin/accounts", {
      username: $("new-username").value.trim(),
      name: $("new-name").value.trim(),
      role: $("new-role").value,
      centre: $("new-centre").value.trim() || null,
      region: $("new-region").value.trim() || null,
      password: $("new-password").value,
    }).then(function (account) {
      form.reset();
      saved("만들었습니다 · Created: " + account.username);
      return load();
    }).catch(function (error) { showError(error.message); });
  });

  api("GET", "/api/auth/me").then(function (who) {
    csrf = who.csrf_token;
    me = who.account.username;
    return load();
  }).catch(function (error) { if (error.message !== "signed out") showError(error.message); });
})();
