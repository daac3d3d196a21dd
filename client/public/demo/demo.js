// The demo page's logic (index.html): sign-in, calls, the line, live stats, Web Push. Served as
// a file of its own so the page's CSP allows this origin's scripts only.
import { enableWebPush, SecureConnect } from "./sdk.js";

const $ = (id) => document.getElementById(id);
const log = (...parts) => { const line = `${new Date().toISOString().slice(11, 23)} ${parts.join(" ")}`; demo.events.push(line); $("log").textContent += line + "\n"; };
const EMPTY = "–";
const CALL_FIELDS = ["connection-state", "pair", "stat-rtt", "stat-loss", "stat-send", "stat-receive"];

/** Where the user looks: the message boxes above the forms. An error replaces the last one. */
function showError(message) {
  $("error").textContent = message;
  log("error", message);
}
function showNotice(message) {
  $("notice").textContent = message;
  log("notice", message);
}
function clearMessages() {
  $("error").textContent = "";
  $("notice").textContent = "";
}

/** Seconds left until `instant` (ISO 8601), never below zero. */
const secondsLeft = (instant) => Math.max(0, Math.ceil((Date.parse(instant) - Date.now()) / 1000));

/**
 * The numbers a person wants while talking, from two getStats() reports a second apart: the
 * selected pair's round trip, the packets lost of those that should have arrived, and the media
 * bitrate each way.
 */
function liveStats(report, previous) {
  let rttMs, lost = 0, received = 0, bytesIn = 0, bytesOut = 0, at = 0;
  report.forEach((r) => {
    if (r.type === "transport" && r.selectedCandidatePairId) {
      const pair = report.get(r.selectedCandidatePairId);
      if (pair?.currentRoundTripTime !== undefined) rttMs = pair.currentRoundTripTime * 1000;
    }
    if (r.type === "inbound-rtp") { lost += r.packetsLost ?? 0; received += r.packetsReceived ?? 0; bytesIn += r.bytesReceived ?? 0; at = Math.max(at, r.timestamp); }
    if (r.type === "outbound-rtp") { bytesOut += r.bytesSent ?? 0; at = Math.max(at, r.timestamp); }
  });
  const totals = { lost, received, bytesIn, bytesOut, at };
  if (!previous || at <= previous.at) return { totals };
  const seconds = (at - previous.at) / 1000;
  const newLost = Math.max(0, lost - previous.lost);
  const expected = newLost + Math.max(0, received - previous.received);
  return {
    totals,
    rttMs,
    lossPercent: expected > 0 ? (100 * newLost) / expected : 0,
    sendKbps: ((bytesOut - previous.bytesOut) * 8) / 1000 / seconds,
    receiveKbps: ((bytesIn - previous.bytesIn) * 8) / 1000 / seconds,
  };
}

// window.demo is what a person clicks through, and what the browser tests drive.
const demo = (window.demo = {
  events: [], errors: [], reports: [], token: undefined, userId: undefined, client: undefined, call: undefined, callId: undefined,
  // The user's line: the calls ringing for them now (in every tab), and the updates it heard.
  line: undefined, incoming: [], updates: [],
  // Every call that rang here, by id (to say what became of it), and every camera/microphone stream opened.
  heard: new Map(), streams: [], localStream: undefined, live: undefined,
  // What the service worker showed for each push, as it reports it (sw.js): {kind, tag}.
  pushesShown: [],
  async signIn(userId, token) {
    if (!token) {
      const response = await fetch("/dev/token", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userId }) });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const reason = body.error?.message ?? `${response.status} ${response.statusText}`;
        // 404: the route exists only with DEV_TOKENS=on; anything else is the server's own word.
        throw new Error(response.status === 404 ? `dev sign-in is off on this server (${reason}); set DEV_TOKENS=on` : `sign-in refused: ${reason}`);
      }
      token = body.token;
    }
    demo.token = token;
    demo.userId = userId;
    demo.client = new SecureConnect({ baseUrl: location.origin, token: () => demo.token });
    $("whoami").textContent = `signed in as ${userId}`;
    $("local-label").textContent = `You (${userId})`;
    clearMessages();
    log("signed in as", userId);
    demo.listen();
  },
  listen() {
    demo.line?.close();
    const line = (demo.line = demo.client.listen());
    line.on("connection", (state) => log("line", state));
    line.on("incoming", (call) => { demo.heard.set(call.callId, call); log("incoming", call.callId, "from", call.caller); });
    line.on("ringing", (calls) => { demo.incoming = calls; demo.showRinging(); });
    line.on("call-update", (update) => {
      demo.updates.push(update);
      log("call-update", update.callId, update.state, update.endReason ?? update.answeredBy ?? "");
      demo.sayWhatBecame(update);
    });
    line.on("error", (error) => { demo.errors.push(error); showError(`line: ${error.message}`); });
  },
  /** A prompt that goes away says why, unless this tab is the one in the call. */
  sayWhatBecame(update) {
    const call = demo.heard.get(update.callId);
    if (!call || update.callId === demo.callId) return;
    demo.heard.delete(update.callId);
    if (update.state === "active") {
      showNotice(update.answeredBy === demo.userId ? `The call from ${call.caller} was answered on another tab or device.` : `The call from ${call.caller} was answered by ${update.answeredBy}.`);
    } else if (update.state === "ended") {
      const endings = { missed: `Missed call from ${call.caller}.`, cancelled: `${call.caller} cancelled the call.`, declined: `The call from ${call.caller} was declined.` };
      showNotice(endings[update.endReason] ?? `The call from ${call.caller} ended (${update.endReason}).`);
    }
  },
  // One prompt per ringing call, except the one this tab has joined (it has its own Answer).
  showRinging() {
    $("ringing").replaceChildren(...demo.incoming.filter((call) => call.callId !== demo.callId).map((call) => {
      const prompt = document.createElement("div");
      prompt.className = "ring";
      prompt.dataset.callId = call.callId;
      const answer = Object.assign(document.createElement("button"), { textContent: "Answer", onclick: () => demo.answer(call.callId).catch((e) => showError(e.message)) });
      const decline = Object.assign(document.createElement("button"), { textContent: "Decline", onclick: () => demo.decline(call.callId).catch((e) => showError(e.message)) });
      const countdown = Object.assign(document.createElement("span"), { className: "countdown" });
      countdown.dataset.ringsUntil = call.ringsUntil;
      prompt.append(`Incoming call from ${call.caller} (${call.media}) `, answer, " ", decline, " ", countdown);
      return prompt;
    }));
    demo.tick();
  },
  /** Every countdown on the page, once a second while something rings. */
  tick() {
    for (const element of document.querySelectorAll(".countdown[data-rings-until]")) element.textContent = `${secondsLeft(element.dataset.ringsUntil)} s left`;
  },
  async answer(callId) {
    if (demo.callId !== callId) await demo.join(callId);
    demo.call.accept();
    log("answered", callId);
  },
  async decline(callId) {
    await demo.client.decline(callId);
    log("declined", callId);
  },
  async media() {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    demo.streams.push(stream);
    demo.localStream = stream;
    $("local").srcObject = stream;
    return stream;
  },
  /** Camera and microphone off for good: the browser's indicator goes out. */
  releaseMedia() {
    for (const stream of demo.streams) for (const track of stream.getTracks()) track.stop();
    demo.localStream = undefined;
    $("local").srcObject = null;
  },
  toggle(kind) {
    const track = demo.localStream?.getTracks().find((t) => t.kind === kind);
    if (!track) return;
    track.enabled = !track.enabled;
    const button = $(kind === "audio" ? "mute-button" : "camera-button");
    button.setAttribute("aria-pressed", String(!track.enabled));
    button.textContent = kind === "audio" ? (track.enabled ? "Mute" : "Unmute") : track.enabled ? "Camera off" : "Camera on";
    log(kind, track.enabled ? "on" : "off");
  },
  setControls(inCall) {
    for (const id of ["hangup-button", "mute-button", "camera-button"]) $(id).disabled = !inCall;
    if (!inCall) {
      $("mute-button").textContent = "Mute";
      $("camera-button").textContent = "Camera off";
      for (const id of ["mute-button", "camera-button"]) $(id).setAttribute("aria-pressed", "false");
    }
  },
  wire(call) {
    demo.call = call;
    demo.callId = call.callId;
    // This tab is in the call now: what becomes of it shows in the call's own fields.
    demo.heard.delete(call.callId);
    demo.setControls(true);
    for (const id of CALL_FIELDS) $(id).textContent = EMPTY;
    call.on("state", (state, reason) => {
      $("call-state").textContent = reason ? `${state} (${reason})` : state;
      log("state", state, reason ?? "");
      if (state !== "ringing") { $("incoming").hidden = true; $("outgoing").hidden = true; }
      if (state === "ended" && demo.call === call) demo.ended(reason);
    });
    call.on("connection", async (state) => {
      $("connection-state").textContent = state;
      log("connection", state);
      if (state === "connected") { demo.showPair(); demo.watchStats(); }
    });
    call.on("track", (stream) => { $("remote").srcObject = stream; log("remote track"); });
    call.on("error", (error) => {
      demo.errors.push(error);
      // The same user joined from another tab or device, which has the call now (the SDK stays off).
      if (/^replaced by a newer connection/.test(error.message)) {
        showNotice("This call was taken on another tab or device.");
        call.close();
        demo.ended("replaced");
        return;
      }
      showError(`call: ${error.message}`);
    });
    // What the SDK told the service about this call (POST /v1/calls/{id}/report), as it sent it.
    call.on("report", (report) => {
      demo.reports.push(report);
      const figures = [report.outcome, report.timeToConnectedMs !== undefined && `${report.timeToConnectedMs} ms to connect`, report.localCandidateType && `${report.localCandidateType}/${report.remoteCandidateType ?? "?"} ${report.protocol ?? ""}`, report.roundTripTimeMs !== undefined && `RTT ${report.roundTripTimeMs} ms`, report.packetsLost !== undefined && `${report.packetsLost} lost`, `${report.iceRestarts} restarts`];
      $("reported").textContent = `${report.trigger}: ${figures.filter(Boolean).join(", ")}`;
      log("reported", report.trigger, JSON.stringify(report));
    });
    call.on("participant-joined", (p) => { if (p.userId !== demo.userId) $("remote-label").textContent = `Remote (${p.userId})`; log("joined", p.userId); });
    call.on("participant-left", (p, reason) => log("left", p.userId, reason));
    // The WebRTC side as it happens: what a person (or a failing test) needs to tell a
    // negotiation problem from a network one.
    call.pc.addEventListener("signalingstatechange", () => log("signaling", call.pc.signalingState));
    call.pc.addEventListener("icegatheringstatechange", () => log("gathering", call.pc.iceGatheringState));
    call.pc.addEventListener("icecandidate", ({ candidate }) => {
      if (candidate) log("local candidate", candidate.type, candidate.protocol, candidate.relayProtocol ?? "", `ufrag ${candidate.usernameFragment}`);
    });
  },
  /** The call is over: camera and microphone released, the per-call fields emptied. */
  ended(reason) {
    clearInterval(demo.statsTimer);
    demo.statsTimer = undefined;
    demo.live = undefined;
    demo.releaseMedia();
    $("remote").srcObject = null;
    $("remote-label").textContent = "Remote";
    $("join-link").replaceChildren();
    for (const id of CALL_FIELDS) $(id).textContent = EMPTY;
    demo.setControls(false);
    demo.callId = undefined;
    const endings = {
      declined: "The call was declined.",
      missed: "Nobody answered.",
      cancelled: "The caller cancelled the call.",
      failed: "The call failed: every connection to it was gone.",
      "answered-elsewhere": "Another callee answered the call.",
    };
    if (endings[reason]) showNotice(endings[reason]);
    log("call over", reason ?? "");
  },
  watchStats() {
    if (demo.statsTimer) return;
    const call = demo.call;
    let previous;
    const refresh = async () => {
      const stats = liveStats(await call.pc.getStats(), previous);
      previous = stats.totals;
      if (demo.call !== call || call.state === "ended" || stats.sendKbps === undefined) return;
      demo.live = stats;
      $("stat-rtt").textContent = stats.rttMs === undefined ? EMPTY : `${stats.rttMs.toFixed(0)} ms`;
      $("stat-loss").textContent = `${stats.lossPercent.toFixed(1)} %`;
      $("stat-send").textContent = `${stats.sendKbps.toFixed(0)} kbit/s`;
      $("stat-receive").textContent = `${stats.receiveKbps.toFixed(0)} kbit/s`;
    };
    demo.statsTimer = setInterval(() => refresh().catch((e) => log("stats", e.message)), 1000);
    refresh().catch((e) => log("stats", e.message));
  },
  async showPair() {
    const pair = await demo.call?.selectedPair();
    if (pair) $("pair").textContent = `${pair.local.type} (${pair.local.relayProtocol ?? pair.local.protocol}) ↔ ${pair.remote.type}`;
    return pair;
  },
  requireSignIn() {
    if (!demo.client) throw new Error("Sign in first: enter your user id in step 1.");
  },
  async startCall(callee) {
    demo.requireSignIn();
    const stream = await demo.media();
    let call;
    try {
      call = await demo.client.call([callee], { media: "video", stream });
    } catch (error) {
      // Nobody was rung: the camera goes off again.
      demo.releaseMedia();
      throw error;
    }
    demo.wire(call);
    const link = document.createElement("a");
    Object.assign(link, { href: `${location.origin}${location.pathname}#join=${call.callId}`, target: "_blank", textContent: call.callId });
    $("join-link").replaceChildren("join link: ", link);
    $("outgoing-callee").textContent = callee;
    $("remote-label").textContent = `Remote (${callee})`;
    $("outgoing-countdown").dataset.ringsUntil = call.ringsUntil;
    $("outgoing").hidden = false;
    demo.tick();
    log("calling", callee, call.callId);
    return call.callId;
  },
  async join(callId) {
    demo.requireSignIn();
    const stream = await demo.media();
    let call;
    try {
      call = await demo.client.join(callId, { stream });
    } catch (error) {
      demo.releaseMedia();
      throw error;
    }
    const caller = demo.heard.get(callId)?.caller;
    demo.wire(call);
    if (caller) $("remote-label").textContent = `Remote (${caller})`;
    $("joined-id").textContent = callId;
    $("incoming").hidden = false;
    demo.showRinging();
    log("joined", callId);
  },
  // Web Push: sw.js rings this browser with no tab open. One device id per browser, kept.
  async enablePush(options = {}) {
    const deviceId = localStorage.getItem("sce-web-device") ?? `web-${crypto.randomUUID().slice(0, 8)}`;
    localStorage.setItem("sce-web-device", deviceId);
    const device = await enableWebPush(demo.client, { ...options, registration: await navigator.serviceWorker.ready, deviceId });
    log("web push on", device.deviceId, device.pushService ?? "");
    return device;
  },
  async stats() {
    const report = await demo.call.pc.getStats();
    let framesDecoded = 0;
    report.forEach((r) => { if (r.type === "inbound-rtp" && r.kind === "video") framesDecoded += r.framesDecoded ?? 0; });
    return { state: demo.call.state, connection: demo.call.pc.connectionState, framesDecoded, pair: await demo.showPair() };
  },
});

setInterval(() => demo.tick(), 1000);
const join = new URLSearchParams(location.hash.slice(1)).get("join");
const act = (action) => () => action().catch((e) => showError(e.message));
$("signin-button").onclick = act(async () => {
  await demo.signIn($("user").value.trim());
  // Opened from a join link: join that call right away (Answer then accepts it).
  if (join) await demo.join(join);
});
$("call-button").onclick = act(() => demo.startCall($("callee").value.trim()));
$("accept-button").onclick = () => demo.call?.accept();
$("decline-button").onclick = () => demo.call?.decline();
$("hangup-button").onclick = () => demo.call?.hangup();
$("mute-button").onclick = () => demo.toggle("audio");
$("camera-button").onclick = () => demo.toggle("video");
if (join) $("callee").placeholder = `sign in to join ${join}`;
$("push-button").onclick = () => demo.enablePush().catch((e) => log("error", e.message));
navigator.serviceWorker?.addEventListener("message", ({ data }) => {
  if (data?.type !== "push-shown") return;
  demo.pushesShown.push(data);
  log("push shown", data.kind, data.tag ?? "");
});
navigator.serviceWorker?.register("./sw.js").then((registration) => (demo.serviceWorker = registration), (e) => log("service worker", e.message));
