// Audio worklets: microphone capture and playback with a small jitter buffer.
// Both run on the audio thread at the AudioContext's rate (24 kHz, the protocol's rate).

class Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.buf = new Float32Array(960); // 40 ms per message
    this.n = 0;
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) {
      for (let i = 0; i < ch.length; i++) {
        this.buf[this.n++] = ch[i];
        if (this.n === this.buf.length) {
          this.port.postMessage(this.buf.slice(0));
          this.n = 0;
        }
      }
    }
    return true;
  }
}

// Plays queued chunks; starts after `startSamples` are buffered (jitter), or at once when the
// response's audio is complete. "clear" drops everything immediately (barge-in).
class Player extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = [];
    this.offset = 0;
    this.buffered = 0;
    this.playing = false;
    this.ended = false;
    this.startSamples = 2400; // 100 ms
    this.played = 0;
    this.peak = 0;
    this.frames = 0;
    this.port.onmessage = (e) => {
      const m = e.data;
      if (m.type === "push") {
        this.queue.push(m.samples);
        this.buffered += m.samples.length;
        this.ended = false;
      } else if (m.type === "end") {
        this.ended = true;
      } else if (m.type === "clear") {
        this.queue = [];
        this.offset = 0;
        this.buffered = 0;
        this.playing = false;
      }
    };
  }
  process(_inputs, outputs) {
    const out = outputs[0][0];
    out.fill(0);
    if (!this.playing && (this.buffered >= this.startSamples || (this.ended && this.buffered > 0))) {
      this.playing = true;
    }
    if (this.playing) {
      let i = 0;
      while (i < out.length && this.queue.length) {
        const head = this.queue[0];
        const k = Math.min(out.length - i, head.length - this.offset);
        out.set(head.subarray(this.offset, this.offset + k), i);
        i += k;
        this.offset += k;
        if (this.offset === head.length) {
          this.queue.shift();
          this.offset = 0;
        }
      }
      this.buffered -= i;
      this.played += i;
      for (let j = 0; j < i; j++) this.peak = Math.max(this.peak, Math.abs(out[j]));
      if (!this.queue.length) this.playing = false; // underrun: re-buffer before resuming
    }
    if (++this.frames % 10 === 0) {
      this.port.postMessage({ played: this.played, buffered: this.buffered, peak: this.peak });
      this.peak = 0;
    }
    return true;
  }
}

registerProcessor("antiphon-capture", Capture);
registerProcessor("antiphon-player", Player);
