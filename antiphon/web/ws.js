// The Realtime protocol over one WebSocket (the fallback transport): microphone → capture
// worklet → PCM16 base64 appends; response.output_audio.delta → player worklet.

const RATE = 24000;

function b64ToFloat(b64) {
  const bin = atob(b64);
  const n = bin.length >> 1, out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8);
    out[i] = (v >= 0x8000 ? v - 0x10000 : v) / 32768;
  }
  return out;
}

function floatToB64(f32) {
  const bytes = new Uint8Array(f32.length * 2);
  for (let i = 0; i < f32.length; i++) {
    const s = Math.max(-1, Math.min(1, f32[i]));
    const v = s < 0 ? Math.round(s * 32768) : Math.round(s * 32767);
    bytes[2 * i] = v & 0xff;
    bytes[2 * i + 1] = (v >> 8) & 0xff;
  }
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

function open(url, protocols) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.onopen = () => resolve(ws);
    ws.onclose = () => reject(new Error(`The server at ${url.split("?")[0]} is unreachable. Is \`antiphon serve\` running?`));
  });
}

export async function connectWebSocket({ url, key, session, onEvent, onClose, onLevel }) {
  const ws = await open(url, ["realtime", ...(key ? [`openai-insecure-api-key.${key}`] : [])]);
  const send = (ev) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(ev)); };
  send({ type: "session.update", session: { ...session, audio: { ...session.audio,
    input: { ...(session.audio || {}).input, format: { type: "audio/pcm", rate: RATE } },
    output: { ...(session.audio || {}).output, format: { type: "audio/pcm", rate: RATE } } } } });
  const ctx = new AudioContext({ sampleRate: RATE });
  await ctx.audioWorklet.addModule("/static/worklets.js");
  const player = new AudioWorkletNode(ctx, "antiphon-player", { outputChannelCount: [1] });
  player.connect(ctx.destination);
  player.port.onmessage = (e) => onLevel(e.data.peak, e.data.played);
  const mic = new AudioWorkletNode(ctx, "antiphon-capture");
  mic.port.onmessage = (e) => send({ type: "input_audio_buffer.append", audio: floatToB64(e.data) });
  ws.onmessage = (m) => {
    const ev = JSON.parse(m.data);
    if (ev.type === "response.output_audio.delta") player.port.postMessage({ type: "push", samples: b64ToFloat(ev.delta) });
    else if (ev.type === "response.output_audio.done") player.port.postMessage({ type: "end" });
    onEvent(ev);
  };
  ws.onclose = (e) => { ctx.close(); onClose(`Connection closed${e.reason ? ": " + e.reason : ""} (code ${e.code}).`, e.code); };
  return {
    kind: "websocket",
    send,
    attachMic: async (stream) => { ctx.createMediaStreamSource(stream).connect(mic); await ctx.resume(); },
    stopPlayback: () => player.port.postMessage({ type: "clear" }),
    close: () => { ws.onclose = null; if (ws.readyState <= 1) ws.close(1000); mic.disconnect(); ctx.close(); },
  };
}
