// antiphon browser client: speaks the Realtime protocol over one WebSocket.
// Microphone → capture worklet → PCM16 base64 appends; agent audio → player worklet.
// `window.antiphon` exposes what the page shows, for the headless-browser test.

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const RATE = 24000;

const state = (window.antiphon = {
  connected: false, error: null, user: [], agent: [], tools: [], latencies: [],
  played: 0, responses: 0, interrupted: 0,
});

let ws = null, ctx = null, mic = null, player = null;
let speechStoppedAt = null, firstAudioSeen = new Set(), turn = 0;
const bubbles = new Map(); // item or response id -> element
const serverMs = new Map(); // response id -> server-side end-of-speech → first audio (ms)

function notice(text, kind = "info") {
  const n = $("notice");
  n.textContent = text;
  n.className = "notice " + kind;
  n.hidden = !text;
}
function status(text, cls) {
  $("status").textContent = text;
  $("status").className = "status " + cls;
}

function bubble(id, who) {
  let el = bubbles.get(id);
  if (!el) {
    el = document.createElement("div");
    el.className = `msg ${who}`;
    el.innerHTML = `<span class="who">${who === "user" ? "you" : "antiphon"}</span><span class="text"></span>`;
    $("transcript").appendChild(el);
    bubbles.set(id, el);
  }
  $("transcript").scrollTop = $("transcript").scrollHeight;
  return el;
}
const setText = (el, t) => { el.querySelector(".text").textContent = t; };

function b64ToFloat(b64) {
  const bin = atob(b64);
  const n = bin.length >> 1, out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8);
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

function send(ev) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(ev)); }

function sendStyle() {
  const speed = +$("speed").value, volume = +$("volume").value, pitch = +$("pitch").value;
  $("speed-v").textContent = speed.toFixed(2);
  $("volume-v").textContent = volume.toFixed(2);
  $("pitch-v").textContent = pitch.toFixed(1);
  send({ type: "session.update", session: { type: "realtime", audio: { output: { speed } }, x_antiphon: { style: { speed, volume, pitch } } } });
}

function stopPlayback() { if (player) player.port.postMessage({ type: "clear" }); }

function logTool(text) {
  const li = document.createElement("li");
  li.textContent = text;
  $("tools").appendChild(li);
  state.tools.push(text);
}

function onEvent(ev) {
  switch (ev.type) {
    case "input_audio_buffer.speech_started":
      stopPlayback(); // barge-in: the agent stops at once
      setText(bubble(ev.item_id, "user"), "…");
      bubble(ev.item_id, "user").classList.add("partial");
      break;
    case "input_audio_buffer.speech_stopped":
      speechStoppedAt = performance.now();
      break;
    case "conversation.item.input_audio_transcription.delta": {
      const el = bubble(ev.item_id, "user");
      setText(el, (el.dataset.partial = (el.dataset.partial || "") + ev.delta));
      break;
    }
    case "conversation.item.input_audio_transcription.completed": {
      const el = bubble(ev.item_id, "user");
      el.classList.remove("partial");
      setText(el, ev.transcript || "(nothing recognised)");
      if (ev.transcript) state.user.push(ev.transcript);
      break;
    }
    case "response.created":
      state.responses++;
      break;
    case "response.output_audio_transcript.delta":
    case "response.output_text.delta": {
      const el = bubble(ev.response_id, "agent");
      el.dataset.text = (el.dataset.text || "") + ev.delta;
      setText(el, el.dataset.text);
      break;
    }
    case "response.output_audio.delta":
      if (!firstAudioSeen.has(ev.response_id)) {
        firstAudioSeen.add(ev.response_id);
        if (speechStoppedAt !== null) {
          const ms = performance.now() - speechStoppedAt;
          speechStoppedAt = null;
          addLatency(ev.response_id, ms);
        }
      }
      player.port.postMessage({ type: "push", samples: b64ToFloat(ev.delta) });
      break;
    case "response.output_audio.done":
      player.port.postMessage({ type: "end" });
      break;
    case "response.done": {
      const r = ev.response;
      const el = bubbles.get(r.id);
      if (r.status === "cancelled") {
        stopPlayback();
        state.interrupted++;
        if (el) el.insertAdjacentHTML("beforeend", ' <span class="cut">(interrupted)</span>');
      }
      const text = el ? el.dataset.text || "" : "";
      if (text) state.agent.push(text);
      break;
    }
    case "response.function_call_arguments.done":
      logTool(`${ev.name}(${ev.arguments}) → waiting for client`);
      break;
    case "x.antiphon.tool_call":
      logTool(`${ev.name}(${ev.arguments})`);
      break;
    case "x.antiphon.tool_result":
      logTool(`  ↳ ${ev.name}: ${ev.output}`);
      break;
    case "x.antiphon.metrics": {
      const v = ev.values.first_audio_out_ms;
      if (v !== undefined) serverMs.set(ev.response_id, v);
      const cell = document.querySelector(`tr[data-rid="${ev.response_id}"] .server`);
      if (cell && v !== undefined) cell.textContent = `${Math.round(v)} ms`;
      break;
    }
    case "x.antiphon.style":
      for (const k of ["speed", "volume", "pitch"]) { $(k).value = ev[k]; $(`${k}-v`).textContent = (+ev[k]).toFixed(k === "pitch" ? 1 : 2); }
      break;
    case "error":
      notice(`Server error (${ev.error.code}): ${ev.error.message}`, "error");
      break;
  }
}

function addLatency(rid, ms) {
  turn++;
  state.latencies.push(ms);
  const tr = document.createElement("tr");
  tr.dataset.rid = rid;
  const srv = serverMs.has(rid) ? `${Math.round(serverMs.get(rid))} ms` : "–";
  tr.innerHTML = `<td>${turn}</td><td>${Math.round(ms)} ms</td><td class="server">${srv}</td>`;
  $("latency").querySelector("tbody").appendChild(tr);
  const el = bubble(rid, "agent");
  el.querySelector(".who").insertAdjacentHTML("beforeend", `<span class="lat">${Math.round(ms)} ms</span>`);
}

async function startAudio() {
  ctx = new AudioContext({ sampleRate: RATE });
  await ctx.audioWorklet.addModule("/static/worklets.js");
  player = new AudioWorkletNode(ctx, "antiphon-player", { outputChannelCount: [1] });
  player.connect(ctx.destination);
  player.port.onmessage = (e) => {
    state.played = e.data.played;
    $("out-level").value = e.data.peak;
  };
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false } });
  } catch (err) {
    const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
    throw new Error(denied
      ? "Microphone access was denied. Allow the microphone for this page in the browser's site settings, then press Start again."
      : `No microphone could be opened (${err && err.name}: ${err && err.message}).`);
  }
  const src = ctx.createMediaStreamSource(stream);
  mic = new AudioWorkletNode(ctx, "antiphon-capture");
  mic.port.onmessage = (e) => {
    const f = e.data;
    let peak = 0;
    for (let i = 0; i < f.length; i++) peak = Math.max(peak, Math.abs(f[i]));
    $("mic-level").value = peak;
    send({ type: "input_audio_buffer.append", audio: floatToB64(f) });
  };
  src.connect(mic);
  await ctx.resume();
}

function wsUrl() {
  if (params.get("server")) return params.get("server");
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/v1/realtime?x_antiphon=1`;
}

function connect() {
  return new Promise((resolve, reject) => {
    const key = params.get("key");
    const protocols = ["realtime", ...(key ? [`openai-insecure-api-key.${key}`] : [])];
    let opened = false;
    ws = new WebSocket(wsUrl(), protocols);
    ws.onopen = () => {
      opened = true;
      state.connected = true;
      status("live", "live");
      send({ type: "session.update", session: { type: "realtime", output_modalities: ["audio"], x_antiphon: { events: true },
        audio: { input: { format: { type: "audio/pcm", rate: RATE }, turn_detection: { type: "semantic_vad" } },
                 output: { format: { type: "audio/pcm", rate: RATE } } } } });
      resolve();
    };
    ws.onmessage = (m) => onEvent(JSON.parse(m.data));
    ws.onerror = () => {};
    ws.onclose = (e) => {
      state.connected = false;
      if (!opened) {
        reject(new Error(`The server at ${wsUrl().split("?")[0]} is unreachable. Is \`antiphon serve\` running?`));
      } else {
        status("disconnected", "error");
        notice(`Connection closed${e.reason ? ": " + e.reason : ""} (code ${e.code}).`, e.code === 1000 ? "info" : "error");
        stop();
      }
    };
  });
}

async function start() {
  $("start").disabled = true;
  notice("");
  status("connecting…", "idle");
  try {
    await connect();
    await startAudio();
    $("stop").disabled = false;
  } catch (err) {
    state.error = err.message;
    if (ws) ws.onclose = null; // keep this message, not a generic "closed" one
    state.connected = false;
    status("not connected", "error");
    notice(err.message, "error");
    stop();
  }
}

function stop() {
  if (mic) mic.disconnect();
  if (ctx) ctx.close();
  if (ws && ws.readyState <= 1) ws.close(1000);
  mic = ctx = player = null;
  $("start").disabled = false;
  $("stop").disabled = true;
}

$("start").onclick = start;
$("stop").onclick = () => { stop(); status("stopped", "idle"); };
for (const k of ["speed", "volume", "pitch"]) $(k).oninput = sendStyle;
if (params.get("autostart")) start();
