// Sotong video calls: WebRTC between a citizen and the person holding their handoff.
//
// Used by the citizen's join page (role "citizen", with the link's token) and by the
// interpreter console (role "person", signed in by its cookie). Signalling goes through
// the gateway's WebSocket /api/video/<request id>/ws; media goes browser to browser.
//
// Negotiation follows the "perfect negotiation" pattern (W3C WebRTC spec, §10.7): both
// sides may offer at any time; on a collision the polite side (the citizen) gives way
// and the impolite side (the person) ignores the other's offer. The gateway says
// "peer-joined" to both sides whenever the room holds both: the person then starts a
// fresh RTCPeerConnection and offers, the citizen drops its old one and answers with a
// fresh one, so a reload or reconnect on either side always renegotiates from scratch.
//
//   const call = new SotongVideoCall({requestId, role, token, localVideo, remoteVideo,
//                                     onState: (state, detail) => ...});
//   await call.start();   // asks for camera and microphone, then connects
//   call.setMicrophone(false); call.setCamera(true); call.hangUp();
//
// States given to onState: "starting", "media-blocked" (detail.error: the browser's
// error name; the call goes on, receive-only), "connecting", "waiting" (for the other
// side), "peer-replaced" (detail.role: a newer connection of the other side took the
// place of the one we had, e.g. the link opened on another device; "joining" follows),
// "joining", "connected", "interrupted", "reconnecting" (detail.delay ms),
// "ended" (detail.by: "me" | "peer" | "gateway"), "closed" (detail.code, detail.reason:
// "not-signed-in" | "forbidden" | "not-found" | "replaced").
"use strict";

class SotongVideoCall {
  static FATAL_CLOSES = {
    4401: "not-signed-in",
    4403: "forbidden",
    4404: "not-found",
    4409: "replaced",
    4410: "ended",
  };
  static PING_MS = 25000;
  static MAX_RETRY_MS = 10000;

  constructor(options) {
    this.requestId = options.requestId;
    this.role = options.role;
    this.token = options.token || null;
    this.localVideo = options.localVideo || null;
    this.remoteVideo = options.remoteVideo || null;
    this.onState = options.onState || (() => {});
    this.state = "idle";
    /** The current RTCPeerConnection (null while the other side is absent). */
    this.pc = null;
    this.localStream = null;
    this._socket = null;
    this._polite = this.role === "citizen";
    this._iceServers = [];
    this._makingOffer = false;
    this._ignoreOffer = false;
    this._inbox = Promise.resolve();
    this._retries = 0;
    this._retryTimer = null;
    this._pingTimer = null;
    this._stopped = false;
  }

  /** Ask for camera and microphone, show them in localVideo, connect. */
  async start() {
    this._stopped = false;
    this._setState("starting");
    this.localStream = await this._getMedia();
    if (this._stopped) {
      this._stopMedia();
      return;
    }
    if (this.localVideo && this.localStream) {
      this.localVideo.muted = true; // never play our own voice back
      this.localVideo.srcObject = this.localStream;
    }
    this._connect();
  }

  /** End the call for both sides and release the camera and microphone. */
  hangUp() {
    this._send({ type: "bye" });
    this._teardown("ended", { by: "me" });
  }

  /** Turn the microphone on or off; false if there is no microphone. */
  setMicrophone(on) {
    return this._enable("audio", on);
  }

  /** Turn the camera on or off; false if there is no camera. */
  setCamera(on) {
    return this._enable("video", on);
  }

  _enable(kind, on) {
    const tracks = this.localStream ? this.localStream.getTracks().filter((t) => t.kind === kind) : [];
    for (const track of tracks) track.enabled = Boolean(on);
    return tracks.length > 0;
  }

  async _getMedia() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this._setState("media-blocked", { error: "NotSupportedError" });
      return null;
    }
    const video = { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } };
    // Without a microphone (or a camera) the call still works with what there is.
    const attempts = [{ audio: true, video }, { video }, { audio: true }];
    let lastError = null;
    for (const constraints of attempts) {
      try {
        return await navigator.mediaDevices.getUserMedia(constraints);
      } catch (error) {
        lastError = error;
        // Refused by the person or the browser: asking again would only nag.
        if (error.name === "NotAllowedError" || error.name === "SecurityError") break;
      }
    }
    this._setState("media-blocked", { error: lastError ? lastError.name : "UnknownError" });
    return null;
  }

  _connect() {
    if (this._stopped) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ role: this.role });
    if (this.token) query.set("t", this.token);
    const path = `/api/video/${encodeURIComponent(this.requestId)}/ws?${query}`;
    const socket = new WebSocket(`${scheme}//${location.host}${path}`);
    this._socket = socket;
    this._setState(this._retries ? "reconnecting" : "connecting");
    socket.addEventListener("open", () => {
      clearInterval(this._pingTimer);
      this._pingTimer = setInterval(() => this._send({ type: "ping" }), SotongVideoCall.PING_MS);
    });
    socket.addEventListener("message", (event) => {
      if (socket !== this._socket) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      // One message at a time, in order: an answer must not overtake its offer.
      this._inbox = this._inbox
        .then(() => this._handle(message))
        .catch((error) => console.warn("video: signalling message failed", error));
    });
    socket.addEventListener("close", (event) => this._onSocketClosed(socket, event));
  }

  _onSocketClosed(socket, event) {
    if (socket !== this._socket) return;
    this._socket = null;
    clearInterval(this._pingTimer);
    if (this._stopped) return;
    const fatal = SotongVideoCall.FATAL_CLOSES[event.code];
    if (fatal === "ended") {
      this._teardown("ended", { by: "gateway" });
      return;
    }
    if (fatal) {
      this._teardown("closed", { code: event.code, reason: fatal });
      return;
    }
    // A dropped network or a restarting gateway: try again, more slowly each time.
    const delay = Math.min(SotongVideoCall.MAX_RETRY_MS, 1000 * 2 ** this._retries);
    this._retries += 1;
    this._setState("reconnecting", { delay });
    this._retryTimer = setTimeout(() => this._connect(), delay);
  }

  _send(message) {
    if (this._socket && this._socket.readyState === WebSocket.OPEN) {
      this._socket.send(JSON.stringify(message));
    }
  }

  async _handle(message) {
    if (this._stopped) return;
    switch (message.type) {
      case "welcome":
        this._retries = 0;
        this._polite = Boolean(message.polite);
        this._iceServers = Array.isArray(message.ice_servers) ? message.ice_servers : [];
        this._setState("waiting");
        break;
      case "peer-joined":
        // A fresh start on both sides. Only the impolite side offers now; the polite one
        // builds its connection from that offer. (Both offering at once is handled too,
        // but Chromium sometimes stops gathering candidates after the rollback.)
        if (this._polite) this._closePeerConnection();
        else this._newPeerConnection();
        this._setState("joining");
        break;
      case "peer-left":
        this._closePeerConnection();
        this._setState("waiting", { peerLeft: true });
        break;
      case "peer-replaced":
        // The gateway's "peer-joined" of the newer connection comes next.
        this._setState("peer-replaced", { role: message.role });
        break;
      case "offer":
      case "answer":
        await this._onDescription({ type: message.type, sdp: message.sdp });
        break;
      case "candidate":
        await this._onCandidate(message.candidate);
        break;
      case "bye":
        this._teardown("ended", { by: "peer" });
        break;
      default:
        break; // "pong" and anything newer than this page
    }
  }

  _newPeerConnection() {
    this._closePeerConnection();
    const pc = new RTCPeerConnection({ iceServers: this._iceServers });
    this.pc = pc;
    this._makingOffer = false;
    this._ignoreOffer = false;
    const kinds = new Set();
    if (this.localStream) {
      for (const track of this.localStream.getTracks()) {
        pc.addTrack(track, this.localStream);
        kinds.add(track.kind);
      }
    }
    // No camera or microphone: still receive the other side's. (The side that answers
    // needs nothing: the offer brings the transceivers.)
    for (const kind of ["audio", "video"]) {
      if (!kinds.has(kind) && !this._polite) pc.addTransceiver(kind, { direction: "recvonly" });
    }
    pc.addEventListener("track", ({ track, streams }) => {
      if (pc !== this.pc || !this.remoteVideo) return;
      let stream = streams[0];
      if (!stream) {
        stream = this.remoteVideo.srcObject instanceof MediaStream ? this.remoteVideo.srcObject : new MediaStream();
        stream.addTrack(track);
      }
      if (this.remoteVideo.srcObject !== stream) this.remoteVideo.srcObject = stream;
      const playing = this.remoteVideo.play();
      if (playing) playing.catch(() => {}); // autoplay rules: the page's button started us
    });
    pc.addEventListener("icecandidate", ({ candidate }) => {
      if (pc === this.pc && candidate) this._send({ type: "candidate", candidate: candidate.toJSON() });
    });
    pc.addEventListener("negotiationneeded", async () => {
      if (pc !== this.pc) return;
      try {
        this._makingOffer = true;
        await pc.setLocalDescription();
        this._send({ type: pc.localDescription.type, sdp: pc.localDescription.sdp });
      } catch (error) {
        console.warn("video: offer failed", error);
      } finally {
        this._makingOffer = false;
      }
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc !== this.pc) return;
      const state = pc.connectionState;
      if (state === "connected") {
        this._setState("connected");
      } else if (state === "disconnected") {
        this._setState("interrupted");
      } else if (state === "failed") {
        // A network change: look for a new path without dropping the call.
        pc.restartIce();
        this._setState("interrupted", { restart: true });
      }
    });
  }

  async _onDescription(description) {
    if (!this.pc) this._newPeerConnection();
    const pc = this.pc;
    const offerCollision =
      description.type === "offer" && (this._makingOffer || pc.signalingState !== "stable");
    this._ignoreOffer = !this._polite && offerCollision;
    if (this._ignoreOffer) return;
    // For the polite side this rolls back its own offer implicitly.
    await pc.setRemoteDescription(description);
    if (description.type === "offer") {
      await pc.setLocalDescription();
      this._send({ type: pc.localDescription.type, sdp: pc.localDescription.sdp });
    }
  }

  async _onCandidate(candidate) {
    if (!this.pc) return;
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      // Candidates of an offer we ignored, or of a connection already replaced.
      if (!this._ignoreOffer) console.warn("video: candidate refused", error);
    }
  }

  _closePeerConnection() {
    if (this.pc) {
      this.pc.close();
      this.pc = null;
    }
    if (this.remoteVideo) this.remoteVideo.srcObject = null;
  }

  _stopMedia() {
    if (this.localStream) {
      for (const track of this.localStream.getTracks()) track.stop();
      this.localStream = null;
    }
    if (this.localVideo) this.localVideo.srcObject = null;
  }

  _teardown(state, detail) {
    this._stopped = true;
    clearTimeout(this._retryTimer);
    clearInterval(this._pingTimer);
    this._closePeerConnection();
    this._stopMedia();
    const socket = this._socket;
    this._socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, "hang up");
    this._setState(state, detail);
  }

  _setState(state, detail = {}) {
    this.state = state;
    try {
      this.onState(state, detail);
    } catch (error) {
      console.error("video: onState failed", error);
    }
  }
}

window.SotongVideoCall = SotongVideoCall;
