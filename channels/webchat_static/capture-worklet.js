// The microphone's capture processor (an AudioWorklet module, loaded by speech.js).
// A file of its own, not a Blob URL: the page's Content-Security-Policy runs scripts
// from the gateway only. Mixes the input's channels to mono and posts each block.
class SotongCapture extends AudioWorkletProcessor {
  constructor() { super(); this.on = true; this.port.onmessage = () => { this.on = false; }; }
  process(inputs) {
    const input = inputs[0];
    if (input && input.length) {
      const mono = new Float32Array(input[0].length);
      for (const channel of input) {
        for (let i = 0; i < mono.length; i++) mono[i] += channel[i] / input.length;
      }
      this.port.postMessage(mono, [mono.buffer]);
    }
    return this.on;
  }
}
registerProcessor("sotong-capture", SotongCapture);
