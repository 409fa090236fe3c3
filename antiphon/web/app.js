// antiphon browser client: the Realtime protocol over WebRTC (default) or a WebSocket
// (fallback, or ?transport=websocket). Settings (persona, speed, demo tools) go in the
// session config and, when changed while talking, in session.update.
// `window.antiphon` exposes what the page shows, for the headless-browser test.
import { connectWebRTC } from "/static/rtc.js";
import { connectWebSocket } from "/static/ws.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

const state = (window.antiphon = {
  connected: false, error: null, transport: null, fallback: null, user: [], agent: [], tools: [],
  latencies: [], played: 0, micAt: null, audibleAt: [], responses: 0, interrupted: 0, events: [], session: null,
});

let link = null, stream = null, micMeter = null, t0 = 0;
let speechStoppedAt = null, turn = 0;
const firstAudio = new Set();
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

// ---- settings --------------------------------------------------------------------------------
function settings() {
  const speed = +$("speed").value, volume = +$("volume").value, pitch = +$("pitch").value;
  $("speed-v").textContent = speed.toFixed(2);
  $("volume-v").textContent = volume.toFixed(2);
  $("pitch-v").textContent = pitch.toFixed(1);
  const s = {
    type: "realtime",
    output_modalities: ["audio"],
    audio: { input: { turn_detection: { type: "semantic_vad" } }, output: { speed } },
    x_antiphon: { events: true, demo_tools: $("demo-tools").checked, style: { speed, volume, pitch } },
  };
  const persona = $("instructions").value.trim();
  if (persona) s.instructions = persona;
  return s;
}
function sendSettings() { const s = settings(); if (link) link.send({ type: "session.update", session: s }); }

// ---- event log -------------------------------------------------------------------------------
const QUIET = new Set(["response.output_audio.delta", "response.output_audio_transcript.delta",
  "response.output_text.delta", "conversation.item.input_audio_transcription.delta"]);
function logEvent(ev, dir = "↓") {
  const ms = Math.round(performance.now() - t0);
  state.events.push({ t: ms, type: ev.type });
  if (state.events.length > 2000) state.events.shift();
  const log = $("events");
  const last = log.lastElementChild;
  if (QUIET.has(ev.type) && last && last.dataset.type === ev.type) {
    last.dataset.n = +last.dataset.n + 1;
    last.querySelector(".n").textContent = `×${last.dataset.n}`;
    return;
  }
  const li = document.createElement("li");
  li.dataset.type = ev.type;
  li.dataset.n = 1;
  li.innerHTML = `<span class="t">${(ms / 1000).toFixed(3)}</span> ${dir} <span class="ty"></span> <span class="n"></span>`;
  li.querySelector(".ty").textContent = ev.type + (ev.type === "error" ? ` ${ev.error.code}` : "");
  log.appendChild(li);
  while (log.children.length > 300) log.firstElementChild.remove();
  log.scrollTop = log.scrollHeight;
}

function logTool(text) {
  const li = document.createElement("li");
  li.textContent = text;
  $("tools").appendChild(li);
  state.tools.push(text);
}

function agentAudioBegan(rid) {
  if (firstAudio.has(rid)) return;
  firstAudio.add(rid);
  if (speechStoppedAt === null) return;
  const ms = performance.now() - speechStoppedAt;
  speechStoppedAt = null;
  turn++;
  state.latencies.push(ms);
  const tr = document.createElement("tr");
  tr.dataset.rid = rid;
  const srv = serverMs.has(rid) ? `${Math.round(serverMs.get(rid))} ms` : "–";
  tr.innerHTML = `<td>${turn}</td><td>${Math.round(ms)} ms</td><td class="server">${srv}</td>`;
  $("latency").querySelector("tbody").appendChild(tr);
  bubble(rid, "agent").querySelector(".who").insertAdjacentHTML("beforeend", `<span class="lat">${Math.round(ms)} ms</span>`);
}

function onEvent(ev) {
  logEvent(ev);
  switch (ev.type) {
    case "session.created":
      state.session = ev.session;
      if (!$("instructions").value.trim() && ev.session.instructions) $("instructions").placeholder = ev.session.instructions;
      break;
    case "session.updated":
      state.session = ev.session; // the settings as the server applied them
      break;
    case "input_audio_buffer.speech_started":
      if (link) link.stopPlayback(); // barge-in: the agent stops at once
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
    case "response.output_audio.delta": // WebSocket: the first audio of the answer
    case "output_audio_buffer.started": // WebRTC: the server started playing it
      agentAudioBegan(ev.response_id);
      break;
    case "response.done": {
      const r = ev.response;
      const el = bubbles.get(r.id);
      if (r.status === "cancelled") {
        if (link) link.stopPlayback();
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

// ---- connecting ------------------------------------------------------------------------------
async function openMic() {
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false } });
  } catch (err) {
    const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
    throw new Error(denied
      ? "Microphone access was denied. Allow the microphone for this page in the browser's site settings, then press Start again."
      : `No microphone could be opened (${err && err.name}: ${err && err.message}).`);
  }
}

function meterMic(s) {
  const ctx = new AudioContext();
  const an = ctx.createAnalyser();
  ctx.createMediaStreamSource(s).connect(an);
  const buf = new Float32Array(an.fftSize);
  const timer = setInterval(() => {
    an.getFloatTimeDomainData(buf);
    $("mic-level").value = buf.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  }, 50);
  return { stop: () => { clearInterval(timer); ctx.close(); } };
}

function endpoint(kind) {
  const server = params.get("server");
  if (server) return server; // a ws:// URL: the WebSocket transport
  const base = `${location.protocol}//${location.host}`;
  if (kind === "webrtc") return `${base}/v1/realtime/calls?x_antiphon=1`;
  return `${base.replace(/^http/, "ws")}/v1/realtime?x_antiphon=1`;
}

async function connect() {
  const wanted = params.get("server") ? "websocket" : $("transport").value;
  const opts = { key: params.get("key"), session: settings(), onEvent, onLevel, onClose };
  if (wanted !== "websocket" && window.RTCPeerConnection) {
    try {
      return await connectWebRTC({ ...opts, url: endpoint("webrtc") });
    } catch (err) {
      if (wanted === "webrtc") throw err;
      state.fallback = err.message;
      notice(`WebRTC did not connect (${err.message}); using the WebSocket instead.`, "info");
    }
  }
  return connectWebSocket({ ...opts, url: endpoint("websocket") });
}

// when the answer became audible here (ms since start, after >= 300 ms of quiet): with
// `micAt` and the microphone's own timing, a voice-to-voice figure that includes both
// transports' buffering (the latency table above starts at an event's arrival)
let quietSince = 0;
function onLevel(peak, played) {
  const now = performance.now() - t0;
  if (peak > 0.02) {
    if (now - quietSince >= 300) state.audibleAt.push(Math.round(now));
    quietSince = Infinity;
  } else if (quietSince === Infinity) quietSince = now;
  state.played = played;
  $("out-level").value = peak;
}

function onClose(reason, code) {
  state.connected = false;
  status("disconnected", "error");
  notice(reason, code === 1000 ? "info" : "error");
  stop();
}

async function start() {
  $("start").disabled = true;
  notice("");
  status("connecting…", "idle");
  t0 = performance.now();
  try {
    link = await connect();
    stream = await openMic();
    state.micAt = Math.round(performance.now() - t0);
    micMeter = meterMic(stream);
    await link.attachMic(stream);
    state.connected = true;
    state.transport = link.kind;
    $("transport-used").textContent = link.kind === "webrtc" ? "WebRTC (Opus)" : "WebSocket (PCM16)";
    status(`live · ${link.kind}`, "live");
    $("stop").disabled = false;
  } catch (err) {
    state.error = err.message;
    state.connected = false;
    status("not connected", "error");
    notice(err.message, "error");
    stop();
  }
}

function stop() {
  if (link) link.close();
  if (micMeter) micMeter.stop();
  if (stream) for (const t of stream.getTracks()) t.stop();
  link = stream = micMeter = null;
  $("start").disabled = false;
  $("stop").disabled = true;
}

$("start").onclick = start;
$("stop").onclick = () => { stop(); status("stopped", "idle"); };
for (const k of ["speed", "volume", "pitch"]) $(k).oninput = sendSettings;
$("demo-tools").onchange = sendSettings;
$("instructions").onchange = sendSettings;
if (params.get("transport")) $("transport").value = params.get("transport");
if (params.get("autostart")) start();
