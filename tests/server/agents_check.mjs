// OpenAI's own @openai/agents-realtime (its prebuilt browser bundle, from node_modules) in
// Debian's headless Chromium: a RealtimeSession with the WebRTC transport pointed at
// antiphon (baseUrl), a function tool the page executes, the microphone fed from a WAV.
// Usage: node agents_check.mjs SERVER_URL WAV
// The test page is served on the server's own origin through playwright routes (the SDK
// POSTs its SDP offer to baseUrl, so same origin avoids CORS). Prints the page's state.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const [url, wav] = process.argv.slice(2);
const timeoutMs = +(process.env.BROWSER_TIMEOUT_MS || 180000);
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const bundle = join(root, "node_modules", "@openai", "agents-realtime", "dist", "bundle");

const page_html = `<!doctype html><meta charset="utf-8"><title>agents-realtime on antiphon</title>
<pre id="out"></pre>
<script type="module">
import { OpenAIRealtimeWebRTC, RealtimeAgent, RealtimeSession, tool } from "/agents-sdk/openai-realtime-agents.mjs";
const st = (window.agents = { connected: false, error: null, history: [], toolCalls: [], toolResults: [], errors: [], events: [] });
const getWeather = tool({
  name: "get_weather",
  description: "Get the current weather for a city.",
  parameters: { type: "object", properties: { city: { type: "string", description: "the city" } }, required: ["city"], additionalProperties: false },
  strict: true,
  execute: async ({ city }) => { st.toolCalls.push(city); return "sunny and 21 degrees in " + city; },
});
const agent = new RealtimeAgent({
  name: "Assistant",
  instructions: "You are a helpful voice assistant. Answer in one short sentence. Always use the get_weather tool for questions about the weather.",
  tools: [getWeather],
});
const transport = new OpenAIRealtimeWebRTC({ baseUrl: location.origin + "/v1/realtime/calls", useInsecureApiKey: true });
const session = new RealtimeSession(agent, { transport, model: "antiphon" });
session.on("history_updated", (h) => {
  st.history = h.map((i) => ({ type: i.type, role: i.role, name: i.name, status: i.status, output: i.output ?? null,
    text: (i.content || []).map((c) => c.transcript || c.text || "").join(" ") }));
  document.getElementById("out").textContent = JSON.stringify(st.history, null, 1);
});
session.on("agent_tool_end", (_ctx, _agent, t, result) => st.toolResults.push({ name: t.name, result }));
session.on("error", (e) => st.errors.push(String((e && e.error && (e.error.message || e.error)) || e)));
session.on("transport_event", (ev) => st.events.push(ev.type));
try {
  await session.connect({ apiKey: "antiphon-local" });
  st.connected = true;
} catch (e) {
  st.error = String(e);
}
</script>`;

const args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--autoplay-policy=no-user-gesture-required", "--disable-dev-shm-usage",
  "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
  "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${wav}%noloop`];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args });
let state = null;
try {
  const context = await browser.newContext();
  await context.route(`${url}/agents-test.html`, (r) => r.fulfill({ contentType: "text/html", body: page_html }));
  await context.route(`${url}/agents-sdk/*`, (r) => {
    const name = new URL(r.request().url()).pathname.split("/").pop();
    r.fulfill({ contentType: "text/javascript", body: readFileSync(join(bundle, name)) });
  });
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") console.error("[page]", m.text()); });
  await page.goto(`${url}/agents-test.html`);
  const done = `window.agents && (window.agents.error || (window.agents.toolResults.length > 0 &&
    window.agents.history.filter((i) => i.role === "assistant" && i.text.trim()).length >= 2 &&
    window.agents.history.findLastIndex((i) => i.role === "assistant" && i.text.trim()) >
    window.agents.history.findIndex((i) => i.type === "function_call" && i.output)))`;
  try {
    await page.waitForFunction(done, null, { timeout: timeoutMs, polling: 250 });
  } finally {
    state = await page.evaluate(() => window.agents);
  }
} finally {
  console.log(JSON.stringify(state));
  await browser.close();
}
