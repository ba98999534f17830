// The citizen's join page: one SotongVideoCall with the token of the link they were sent.
"use strict";
(function () {
  // Korean first, English second: [ko, en].
  const STATUS = {
    starting: ["카메라와 마이크를 준비하고 있습니다…", "Getting your camera and microphone ready…"],
    "media-blocked": [
      "카메라나 마이크를 쓸 수 없습니다. 아래 안내를 보세요.",
      "The camera or microphone cannot be used. See the help below.",
    ],
    connecting: ["연결하고 있습니다…", "Connecting…"],
    waiting: [
      "통역사·상담원을 기다리고 있습니다. 이 화면을 열어 두세요.",
      "Waiting for the interpreter or staff member. Keep this page open.",
    ],
    "peer-left": [
      "상대방의 연결이 끊겼습니다. 다시 들어올 때까지 기다려 주세요.",
      "The other side was disconnected. Please wait for them to come back.",
    ],
    joining: ["통역사·상담원과 연결하고 있습니다…", "Connecting you with the interpreter or staff member…"],
    connected: ["연결되었습니다. 화면을 보며 이야기하세요.", "You are connected. Talk while you watch the screen."],
    interrupted: ["연결이 불안정합니다. 잠시 기다려 주세요.", "The connection is unstable. Please wait a moment."],
    reconnecting: ["연결이 끊겨 다시 연결하고 있습니다…", "The connection dropped. Reconnecting…"],
    ended: ["통화가 끝났습니다.", "The call has ended."],
    forbidden: [
      "이 링크로는 통화할 수 없습니다. 채팅에서 새 링크를 부탁하세요.",
      "This link cannot open the call. Ask for a new link in the chat.",
    ],
    "not-found": ["이 통화는 끝났습니다.", "This call is over."],
    replaced: [
      "다른 화면에서 이 통화를 열었습니다. 이 화면은 닫아도 됩니다.",
      "The call was opened on another screen. You can close this one.",
    ],
    "mic-off": ["마이크를 껐습니다.", "Microphone off."],
    "mic-on": ["마이크를 켰습니다.", "Microphone on."],
    "camera-off": ["카메라를 껐습니다.", "Camera off."],
    "camera-on": ["카메라를 켰습니다.", "Camera on."],
  };
  const BUTTONS = {
    micOn: ["마이크 끄기", "Mute microphone"],
    micOff: ["마이크 켜기", "Unmute microphone"],
    cameraOn: ["카메라 끄기", "Turn camera off"],
    cameraOff: ["카메라 켜기", "Turn camera on"],
  };

  const $ = (id) => document.getElementById(id);
  const status = $("status");
  const sections = { before: $("before"), call: $("call"), help: $("media-help"), ended: $("ended") };

  function bilingual(element, [ko, en]) {
    const english = document.createElement("span");
    english.className = "en";
    english.lang = "en";
    english.textContent = en;
    element.replaceChildren(document.createTextNode(ko + " "), english);
  }

  const match = location.pathname.match(/^\/video\/(\d+)\/?$/);
  const token = new URLSearchParams(location.search).get("t");
  if (!match || !token) {
    bilingual(status, STATUS.forbidden);
    $("start").disabled = true;
    return;
  }

  let micOn = true;
  let cameraOn = true;
  let mediaBlocked = false;

  function onState(state, detail) {
    let key = state;
    if (state === "closed") key = detail.reason === "replaced" ? "replaced" : detail.reason === "not-found" ? "not-found" : "forbidden";
    if (state === "waiting" && detail.peerLeft) key = "peer-left";
    if (state === "media-blocked") {
      mediaBlocked = true;
      sections.help.hidden = false;
      $("mic").disabled = true;
      $("camera").disabled = true;
    }
    // Keep the camera help in view while the call goes on without the camera.
    if (mediaBlocked && (state === "connecting" || state === "waiting")) return;
    if (STATUS[key]) bilingual(status, STATUS[key]);
    if (state === "ended" || state === "closed") {
      sections.call.hidden = true;
      sections.help.hidden = true;
      sections.ended.hidden = false;
      $("ended-heading").focus();
    }
  }

  const call = new SotongVideoCall({
    requestId: match[1],
    role: "citizen",
    token,
    localVideo: $("local"),
    remoteVideo: $("remote"),
    onState,
  });
  // For tests and for anyone debugging a call in the browser's console.
  window.sotongCall = call;

  $("start").addEventListener("click", () => {
    sections.before.hidden = true;
    sections.call.hidden = false;
    $("hangup").focus();
    call.start();
  });
  $("hangup").addEventListener("click", () => call.hangUp());
  $("mic").addEventListener("click", () => {
    micOn = !micOn;
    call.setMicrophone(micOn);
    bilingual($("mic"), micOn ? BUTTONS.micOn : BUTTONS.micOff);
    bilingual(status, micOn ? STATUS["mic-on"] : STATUS["mic-off"]);
  });
  $("camera").addEventListener("click", () => {
    cameraOn = !cameraOn;
    call.setCamera(cameraOn);
    bilingual($("camera"), cameraOn ? BUTTONS.cameraOn : BUTTONS.cameraOff);
    bilingual(status, cameraOn ? STATUS["camera-on"] : STATUS["camera-off"]);
  });
  // Asking again for the camera needs a fresh start of the page.
  $("retry").addEventListener("click", () => location.reload());
})();
