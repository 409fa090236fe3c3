// The Realtime protocol over WebRTC, as OpenAI's GA API defines it: the microphone as an
// Opus track, the SDP offer POSTed to /v1/realtime/calls (multipart: sdp + session config),
// JSON events on the "oai-events" data channel, the agent's voice on the remote track.
// The browser does echo cancellation and jitter buffering.

export async function connectWebRTC({ url, key, session, onEvent, onClose, onLevel }) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  // the microphone joins later (attachMic): a failing server is reported before a mic prompt
  const mic = pc.addTransceiver("audio", { direction: "sendrecv" });
  const dc = pc.createDataChannel("oai-events");
  const audio = new Audio();
  audio.autoplay = true;
  let meter = null;
  pc.ontrack = (e) => {
    audio.srcObject = e.streams[0] || new MediaStream([e.track]);
    audio.play().catch(() => {});
    meter = levelMeter(e.track, onLevel);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await iceGathered(pc, 2000);
  const form = new FormData();
  form.set("sdp", pc.localDescription.sdp);
  form.set("session", JSON.stringify(session));
  let resp;
  try {
    resp = await fetch(url, { method: "POST", body: form, headers: key ? { Authorization: `Bearer ${key}` } : {} });
  } catch (err) {
    pc.close();
    throw new Error(`WebRTC call to ${url} failed: ${err.message}`);
  }
  if (resp.status !== 201) {
    pc.close();
    let msg = `HTTP ${resp.status}`;
    try { const j = await resp.json(); msg += ` ${j.error.code}: ${j.error.message}`; } catch { /* not JSON */ }
    throw new Error(`WebRTC call refused (${msg})`);
  }
  const callPath = resp.headers.get("Location");
  await pc.setRemoteDescription({ type: "answer", sdp: await resp.text() });
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the WebRTC data channel did not open within 10 s")), 10000);
      dc.onopen = () => { clearTimeout(timer); resolve(); };
    });
  } catch (err) {
    // the remote track may have arrived without a connection: its level meter would go on
    // reporting silence over the fallback transport's playback
    if (meter) meter.stop();
    pc.close();
    audio.srcObject = null;
    throw err;
  }
  let closed = false;
  const finish = (reason) => {
    if (closed) return;
    closed = true;
    if (meter) meter.stop();
    onClose(reason);
  };
  dc.onmessage = (m) => onEvent(JSON.parse(m.data));
  dc.onclose = () => finish("data channel closed");
  pc.onconnectionstatechange = () => { if (pc.connectionState === "failed") finish("connection failed"); };
  return {
    kind: "webrtc",
    call: callPath,
    attachMic: async (stream) => { await mic.sender.replaceTrack(stream.getAudioTracks()[0]); },
    send: (ev) => { if (dc.readyState === "open") dc.send(JSON.stringify(ev)); },
    stopPlayback: () => {}, // the server clears its own output buffer on barge-in
    close: () => { closed = true; if (meter) meter.stop(); dc.close(); pc.close(); audio.srcObject = null; },
  };
}

function iceGathered(pc, maxMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, maxMs); // host candidates come at once; STUN may be slow
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
    });
  });
}

// The agent's level and how much of it was audible (24 kHz samples, like the WebSocket path).
function levelMeter(track, onLevel) {
  const ctx = new AudioContext();
  const src = ctx.createMediaStreamSource(new MediaStream([track]));
  const an = ctx.createAnalyser();
  an.fftSize = 1024;
  src.connect(an);
  const buf = new Float32Array(an.fftSize);
  let last = performance.now(), stopped = false, played = 0;
  const tick = () => {
    if (stopped) return;
    an.getFloatTimeDomainData(buf);
    let peak = 0;
    for (let i = 0; i < buf.length; i++) peak = Math.max(peak, Math.abs(buf[i]));
    const now = performance.now();
    if (peak > 0.02) played += ((now - last) / 1000) * 24000;
    onLevel(peak, played);
    last = now;
    setTimeout(tick, 20);
  };
  ctx.resume().then(tick);
  return { stop: () => { stopped = true; ctx.close(); } };
}
