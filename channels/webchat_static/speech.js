/* Speech in and out for the web chat: window.SotongSpeech.
 *
 * Recording: getUserMedia + AudioContext, captured by an AudioWorklet (an inline module
 * loaded from a Blob URL; a ScriptProcessor where worklets are missing), resampled to
 * 16 kHz in the page and encoded as a WAV (PCM 16-bit mono) for the gateway's
 * recogniser. A recording stops by itself at 30 seconds (the gateway refuses longer).
 * Playback: one reply at a time through an <audio> element.
 *
 *   if (SotongSpeech.supported()) {
 *     await SotongSpeech.start();            // asks for the microphone
 *     const wav = await SotongSpeech.stop(); // Blob, audio/wav 16 kHz
 *     const {text, confidence} = await SotongSpeech.recognise(sessionId, wav, "ko");
 *   }
 *   await SotongSpeech.play(`/api/webchat/sessions/${id}/messages/${turnId}/speech`);
 *
 * Errors are Error objects with a `code`: "unsupported", "busy", "not-recording",
 * "denied" (microphone refused), "no-microphone", "cancelled" (cancel() during start()),
 * "http" (then `status` and `detail`, the gateway's plain-language message), "network",
 * "playback".
 * Events on window: "sotong-speech:limit" when the 30 s hard stop is reached (the
 * recording is kept: call stop() to get it); "sotong-speech:state" {detail: {state}}
 * with "idle" | "starting" | "recording" | "stopped".
 */
(function () {
  "use strict";

  const TARGET_RATE = 16000;
  const MAX_SECONDS = 30;
  const MAX_SAMPLES = TARGET_RATE * MAX_SECONDS;
  const PROCESSOR = "sotong-capture";

  // Runs on the audio thread: hands each 128-sample block (mixed to mono) to the page.
  // The capture processor, same origin (the CSP allows no blob: scripts).
  const WORKLET_URL = "/static/webchat/capture-worklet.js";

  function AudioContextClass() {
    return window.AudioContext || window.webkitAudioContext || null;
  }

  function speechError(code, message, extra) {
    const error = new Error(message);
    error.code = code;
    return Object.assign(error, extra || {});
  }

  function announce(state) {
    window.dispatchEvent(new CustomEvent("sotong-speech:state", { detail: { state } }));
  }

  // ---- resampling and WAV ----------------------------------------------------------

  function concat(chunks, length) {
    const out = new Float32Array(length);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk.subarray(0, Math.min(chunk.length, length - at)), at);
      at += chunk.length;
      if (at >= length) break;
    }
    return out;
  }

  /* Resample mono float samples to 16 kHz. Downsampling averages each output sample's
   * span of input (a box low-pass against aliasing) and interpolates between spans;
   * the recogniser works on 8 kHz, so the little that folds back is filtered again. */
  function resample(samples, fromRate) {
    if (fromRate === TARGET_RATE) return samples;
    const ratio = fromRate / TARGET_RATE;
    const length = Math.floor(samples.length / ratio);
    const out = new Float32Array(length);
    if (ratio < 1) {
      for (let i = 0; i < length; i++) {
        const at = i * ratio;
        const left = Math.floor(at);
        const right = Math.min(left + 1, samples.length - 1);
        const frac = at - left;
        out[i] = samples[left] * (1 - frac) + samples[right] * frac;
      }
      return out;
    }
    // Prefix sums give each span's mean in O(1).
    const sums = new Float64Array(samples.length + 1);
    for (let i = 0; i < samples.length; i++) sums[i + 1] = sums[i] + samples[i];
    const spanSum = (from, to) => {
      // sum of samples over the real interval [from, to)
      const a = Math.max(0, from);
      const b = Math.min(samples.length, to);
      if (b <= a) return 0;
      const ia = Math.floor(a);
      const ib = Math.floor(b);
      if (ia === ib) return samples[ia] * (b - a);
      let total = sums[ib] - sums[ia + 1];
      total += samples[ia] * (ia + 1 - a);
      if (ib < samples.length) total += samples[ib] * (b - ib);
      return total;
    };
    for (let i = 0; i < length; i++) {
      const centre = (i + 0.5) * ratio;
      out[i] = spanSum(centre - ratio / 2, centre + ratio / 2) / ratio;
    }
    return out;
  }

  function encodeWav(samples, rate) {
    const buffer = new ArrayBuffer(44 + samples.length * 2);
    const view = new DataView(buffer);
    const text = (at, value) => {
      for (let i = 0; i < value.length; i++) view.setUint8(at + i, value.charCodeAt(i));
    };
    text(0, "RIFF");
    view.setUint32(4, 36 + samples.length * 2, true);
    text(8, "WAVE");
    text(12, "fmt ");
    view.setUint32(16, 16, true); // fmt chunk size
    view.setUint16(20, 1, true); // PCM
    view.setUint16(22, 1, true); // mono
    view.setUint32(24, rate, true);
    view.setUint32(28, rate * 2, true); // bytes per second
    view.setUint16(32, 2, true); // block align
    view.setUint16(34, 16, true); // bits per sample
    text(36, "data");
    view.setUint32(40, samples.length * 2, true);
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
    return new Blob([buffer], { type: "audio/wav" });
  }

  // ---- recording -----------------------------------------------------------------------

  let current = null; // the recording in progress: {state, stream, context, nodes, chunks, ...}
  let held = null; // a recording stopped by the 30 s limit, waiting for stop()

  function release(recording) {
    recording.capturing = false;
    for (const node of recording.nodes) {
      try {
        if (node.port) node.port.postMessage("stop");
        if ("onaudioprocess" in node) node.onaudioprocess = null;
        node.disconnect();
      } catch (_) {
        /* already disconnected */
      }
    }
    recording.nodes = [];
    if (recording.stream) recording.stream.getTracks().forEach((track) => track.stop());
    recording.stream = null;
    if (recording.context && recording.context.state !== "closed") {
      recording.context.close().catch(() => {});
    }
  }

  function take(recording, block) {
    if (!recording.capturing) return;
    const room = recording.limit - recording.length;
    const part = block.length > room ? block.subarray(0, room) : block;
    recording.chunks.push(part);
    recording.length += part.length;
    if (recording.length >= recording.limit) {
      // Hard stop: keep what was said, free the microphone, tell the page.
      release(recording);
      recording.state = "stopped";
      if (current === recording) {
        current = null;
        held = recording;
      }
      announce("stopped");
      const limit = { detail: { seconds: MAX_SECONDS } };
      window.dispatchEvent(new CustomEvent("sotong-speech:limit", limit));
    }
  }

  async function captureWithWorklet(recording, source, sink) {
    await recording.context.audioWorklet.addModule(WORKLET_URL);
    const node = new AudioWorkletNode(recording.context, PROCESSOR, {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
    });
    node.port.onmessage = (event) => take(recording, event.data);
    source.connect(node);
    node.connect(sink);
    recording.nodes.push(node);
  }

  function captureWithScriptProcessor(recording, source, sink) {
    const node = recording.context.createScriptProcessor(4096, 1, 1);
    node.onaudioprocess = (event) => {
      take(recording, new Float32Array(event.inputBuffer.getChannelData(0)));
    };
    source.connect(node);
    node.connect(sink); // a ScriptProcessor only runs while connected to the output
    recording.nodes.push(node);
  }

  function supported() {
    return Boolean(
      window.isSecureContext !== false &&
        navigator.mediaDevices &&
        typeof navigator.mediaDevices.getUserMedia === "function" &&
        AudioContextClass() &&
        window.Blob &&
        window.fetch,
    );
  }

  async function start() {
    if (!supported()) throw speechError("unsupported", "recording is not supported here");
    if (current) throw speechError("busy", "already recording");
    held = null;
    const recording = {
      state: "starting",
      stream: null,
      context: null,
      nodes: [],
      chunks: [],
      length: 0,
      limit: 0,
      rate: 0,
      capturing: false,
      startedAt: 0,
    };
    current = recording;
    announce("starting");
    try {
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          audio: {
            channelCount: 1,
            echoCancellation: true,
            noiseSuppression: true,
            autoGainControl: true,
          },
          video: false,
        });
      } catch (error) {
        const denied = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
        throw speechError(
          denied ? "denied" : "no-microphone",
          denied ? "the microphone was not allowed" : "no microphone could be used",
          { cause: error },
        );
      }
      recording.stream = stream;
      if (current !== recording) throw speechError("cancelled", "recording was cancelled");
      const Context = AudioContextClass();
      const context = new Context();
      recording.context = context;
      if (context.state === "suspended") await context.resume();
      recording.rate = context.sampleRate;
      recording.limit = Math.floor(MAX_SECONDS * context.sampleRate);
      const source = context.createMediaStreamSource(stream);
      const sink = context.createGain();
      sink.gain.value = 0; // nothing is heard back
      sink.connect(context.destination);
      recording.nodes.push(source, sink);
      recording.capturing = true;
      if (context.audioWorklet && typeof AudioWorkletNode === "function") {
        try {
          await captureWithWorklet(recording, source, sink);
        } catch (_) {
          captureWithScriptProcessor(recording, source, sink);
        }
      } else {
        captureWithScriptProcessor(recording, source, sink);
      }
      if (current !== recording) throw speechError("cancelled", "recording was cancelled");
      recording.state = "recording";
      recording.startedAt = performance.now();
      announce("recording");
    } catch (error) {
      release(recording);
      const cancelled = current !== recording;
      if (!cancelled) {
        current = null;
        announce("idle");
      }
      throw cancelled ? speechError("cancelled", "recording was cancelled") : error;
    }
  }

  async function stop() {
    const recording = current || held;
    if (!recording || recording.state === "starting") {
      throw speechError("not-recording", "not recording");
    }
    current = null;
    held = null;
    release(recording);
    announce("idle");
    const samples = resample(concat(recording.chunks, recording.length), recording.rate);
    const kept = samples.length > MAX_SAMPLES ? samples.subarray(0, MAX_SAMPLES) : samples;
    return encodeWav(kept, TARGET_RATE);
  }

  function cancel() {
    const recording = current || held;
    current = null;
    held = null;
    if (recording) {
      release(recording);
      recording.chunks = [];
      announce("idle");
    }
  }

  /** Seconds recorded so far (0 when not recording). */
  function elapsed() {
    const recording = current || held;
    if (!recording || !recording.rate) return 0;
    return recording.length / recording.rate;
  }

  /** "idle" | "starting" | "recording" | "stopped" (held by the 30 s limit). */
  function state() {
    if (current) return current.state;
    return held ? "stopped" : "idle";
  }

  // ---- recognition ---------------------------------------------------------------------

  async function recognise(sessionId, blob, language) {
    const query = language ? `?language=${encodeURIComponent(language)}` : "";
    let response;
    try {
      const path = `/api/webchat/sessions/${encodeURIComponent(sessionId)}/speech${query}`;
      response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "audio/wav" },
        body: blob,
      });
    } catch (error) {
      throw speechError("network", "the gateway could not be reached", { cause: error });
    }
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const detail = data && typeof data.detail === "string" ? data.detail : null;
      throw speechError("http", detail || `speech recognition failed (${response.status})`, {
        status: response.status,
        detail,
      });
    }
    return {
      text: data && typeof data.text === "string" ? data.text : "",
      confidence: data && typeof data.confidence === "number" ? data.confidence : null,
    };
  }

  // ---- playback ------------------------------------------------------------------------

  let playing = null; // {audio, finish}

  function stopPlayback() {
    const now = playing;
    playing = null;
    if (now) {
      now.audio.pause();
      now.audio.removeAttribute("src");
      now.audio.load();
      now.finish(false);
    }
  }

  /** Play a reply; resolves true when it played to the end, false when stopped. */
  function play(url) {
    stopPlayback();
    return new Promise((resolve, reject) => {
      const audio = new Audio();
      audio.preload = "auto";
      let settled = false;
      const entry = {
        audio,
        finish(result, error) {
          if (settled) return;
          settled = true;
          if (playing === entry) playing = null;
          if (error) reject(error);
          else resolve(result);
        },
      };
      playing = entry;
      audio.addEventListener("ended", () => entry.finish(true));
      audio.addEventListener("error", () =>
        entry.finish(false, speechError("playback", "the reply could not be played")),
      );
      audio.src = url;
      const started = audio.play();
      if (started && typeof started.catch === "function") {
        started.catch((error) => {
          if (error && error.name === "AbortError") return; // stopped before it began
          const failed = speechError("playback", "the reply could not be played", { cause: error });
          entry.finish(false, failed);
        });
      }
    });
  }

  function canPlay() {
    return typeof window.Audio === "function" && new Audio().canPlayType("audio/wav") !== "";
  }

  window.SotongSpeech = Object.freeze({
    MAX_SECONDS,
    SAMPLE_RATE: TARGET_RATE,
    supported,
    canPlay,
    start,
    stop,
    cancel,
    elapsed,
    state,
    recognise,
    play,
    stopPlayback,
    // for tests: the pure parts
    _resample: resample,
    _encodeWav: encodeWav,
  });
})();
