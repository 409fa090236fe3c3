// Drive Debian's headless Chromium (via playwright-core) through antiphon's page.
// Usage: node browser_check.mjs URL MODE [WAV] [SCREENSHOT]
//   MODE "talk": fake microphone from WAV; wait for a recognised question, an answer and played audio
//     (with PAGE_SETTINGS='{"instructions": ..., "speed": ..., "demoTools": ...}' a person's
//     settings are entered first and the start button clicked)
//   MODE "denied": microphone permission denied; wait for the page's message
//   MODE "unreachable": URL points at a closed port; wait for the page's message
// Prints the page's `window.antiphon` state as one JSON line.
import { chromium } from "playwright-core";

const [url, mode, wav, shot] = process.argv.slice(2);
const timeoutMs = +(process.env.BROWSER_TIMEOUT_MS || 120000);
const args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required", "--disable-dev-shm-usage",
  // WebRTC host candidates on loopback only: the server offers 127.0.0.1, and so does Chromium
  "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns"];
if (mode === "talk") args.push("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${wav}%noloop`);
if (mode === "denied") args.push("--use-fake-device-for-media-stream", "--deny-permission-prompts");

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args });
let state = null;
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const page = await context.newPage();
  // keep the page's peer connections, so that their receive statistics (the jitter buffer's
  // delay, the playout delay) can be read at the end; the page itself is unchanged
  await page.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    if (!Native) return;
    window.__pcs = [];
    window.RTCPeerConnection = function (...a) { const pc = new Native(...a); window.__pcs.push(pc); return pc; };
    window.RTCPeerConnection.prototype = Native.prototype;
  });
  page.on("console", (m) => { if (m.type() === "error") console.error("[page]", m.text()); });
  const settings = process.env.PAGE_SETTINGS ? JSON.parse(process.env.PAGE_SETTINGS) : null;
  if (settings) {
    await page.goto(url);
    await page.fill("#instructions", settings.instructions);
    await page.evaluate((s) => {
      const speed = document.getElementById("speed");
      speed.value = String(s.speed);
      speed.dispatchEvent(new Event("input"));
      document.getElementById("demo-tools").checked = s.demoTools;
    }, settings);
    await page.click("#start");
  } else {
    await page.goto(url + (url.includes("?") ? "&" : "?") + "autostart=1");
  }
  const cond = {
    talk: "window.antiphon && window.antiphon.user.length > 0 && window.antiphon.agent.length > 0 && window.antiphon.played > 4800",
    denied: "window.antiphon && !!window.antiphon.error",
    unreachable: "window.antiphon && !!window.antiphon.error",
  }[mode];
  try {
    await page.waitForFunction(cond, null, { timeout: timeoutMs, polling: 200 });
    // the answer started playing; let it play out so `played` counts all of it
    if (mode === "talk") await page.waitForTimeout(1500);
  } finally {
    const rtcStats = await page.evaluate(async () => {
      const out = [];
      for (const pc of window.__pcs || []) {
        try {
          (await pc.getStats()).forEach((r) => {
            if ((r.type === "inbound-rtp" && r.kind === "audio") || r.type === "media-playout") out.push(r);
          });
        } catch (err) { out.push({ type: "error", message: String(err) }); }
      }
      return out;
    });
    state = await page.evaluate((rtcStats) => ({ ...window.antiphon, rtcStats, notice: document.getElementById("notice").textContent,
      transcript: document.getElementById("transcript").innerText,
      eventLog: [...document.getElementById("events").children].map((li) => li.innerText),
      transportShown: document.getElementById("transport-used").textContent }), rtcStats);
    if (shot) await page.screenshot({ path: shot });
  }
} finally {
  console.log(JSON.stringify(state));
  await browser.close();
}
