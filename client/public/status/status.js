// The status page: GET /v1/admin/stats every few seconds with the admin token this tab holds
// (sessionStorage, sent as a bearer header, never in the URL), drawn as tiles, inline SVG
// charts and tables. Every value goes into the page as text, never as markup.

const TOKEN_KEY = "secureconnect.admin-token";
const REFRESH_MS = 5000;
const NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

const view = { window: "lastHour", stats: undefined, timer: undefined };
// For the browser tests and for anyone in the console: the last stats shown.
window.statusPage = view;

const percent = (rate) => (rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)} %`);
const ms = (value) => (value === null || value === undefined ? "–" : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value} ms`);
const text = (id, value) => ($(id).textContent = String(value));

function signedIn(token) {
  $("signin").hidden = token !== undefined;
  $("dashboard").hidden = token === undefined;
  $("signout").hidden = token === undefined;
}

async function refresh() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return signedIn(undefined);
  try {
    const response = await fetch("/v1/admin/stats", { headers: { authorization: `Bearer ${token}` }, cache: "no-store" });
    if (response.status === 401 || response.status === 403) {
      const body = await response.json().catch(() => ({}));
      sessionStorage.removeItem(TOKEN_KEY);
      signedIn(undefined);
      text("signin-error", `Refused (${response.status}): ${body.error?.message ?? "not an admin token"}`);
      return;
    }
    if (!response.ok) throw new Error(`the service answered ${response.status}`);
    view.stats = await response.json();
    text("error", "");
    render();
  } catch (error) {
    text("error", `Could not load the stats: ${error.message}. Retrying.`);
  }
}

function render() {
  const stats = view.stats;
  if (!stats) return;
  const w = stats[view.window];
  text("updated", `updated ${new Date(stats.generatedAt).toLocaleTimeString()}`);
  text("calls-placed", w.calls.placed);
  text("calls-answered", w.calls.answered);
  text("calls-missed", w.calls.missed);
  text("ice-success", percent(w.ice.successRate));
  text("ice-verdicts", w.ice.verdicts);
  text("ttc", ms(w.ice.timeToConnectedMs.p50));
  text("ttc-p95", ms(w.ice.timeToConnectedMs.p95));
  text("push-rate", percent(w.push.deliveryRate));
  text("push-sent", w.push.sent);
  text("push-dead", w.push.deadTokensRemoved);
  text("queue-dead", w.queue.deadLettered);
  text("queue-retries", w.queue.retries);
  text("turn-issued", w.turn.credentialsIssued);
  text("turn-regions", Object.entries(w.turn.byRegion).map(([region, n]) => `${region} ${n}`).join(" · ") || "–");

  const series = view.window === "lastHour" ? stats.series.hour : stats.series.day;
  chart($("chart-calls"), series, [["callsPlaced", "placed"], ["callsAnswered", "answered"], ["callsMissed", "missed"]]);
  chart($("chart-ice"), series, [["iceConnected", "connected"], ["iceFailed", "failed"]]);
  chart($("chart-push"), series, [["pushDelivered", "connected"], ["pushFailed", "failed"]]);

  rows($("ice-regions"), Object.entries(w.ice.byRegion).map(([region, r]) => {
    const connected = r.connected || 1;
    const share = (path) => percent(r.connected ? (r.paths[path] ?? 0) / connected : null);
    return [region, r.verdicts, percent(r.successRate), share("direct"), share("turn-udp"), share("turn-tcp"), share("turn-tls"), share("turn-peer")];
  }), "no reports yet");
  rows($("ice-candidates"), Object.entries(w.ice.byCandidateType).map(([pair, r]) => [pair, r.verdicts, percent(r.successRate)]), "no reports yet");
  rows($("push-providers"), Object.entries(w.push.byProvider).map(([provider, p]) => [provider, p.sent, p.delivered, p.retried, p.deadTokensRemoved, p.failed]), "no pushes yet");
  rows($("push-problems"), w.push.problems.map((p) => [p.provider, p.result, p.reason, p.count]), "none");
  fleet(stats.turnFleet);
}

/** Replaces a table body's rows; numbers are right-aligned. */
function rows(tbody, data, empty) {
  tbody.replaceChildren();
  if (data.length === 0) data = [[empty]];
  for (const cells of data) {
    const tr = document.createElement("tr");
    for (const value of cells) {
      const td = document.createElement("td");
      td.textContent = String(value);
      if (typeof value === "number") td.className = "n";
      tr.append(td);
    }
    tbody.append(tr);
  }
}

/** The TURN panel: the fleet's hosts and their health checks' verdicts, else why not. */
function fleet(state) {
  const panel = $("turn-fleet");
  panel.replaceChildren();
  if (!state.available) {
    panel.textContent = `Not available: ${state.reason}`;
    return;
  }
  const table = document.createElement("table");
  const body = document.createElement("tbody");
  table.append(body);
  const hostRows = state.pools.flatMap((pool) =>
    pool.hosts.length === 0
      ? [[pool.region, pool.provider === "cloudflare" ? "Cloudflare Realtime TURN" : "no hosts", pool.listed ? "listed" : "down", "", "", ""]]
      : pool.hosts.map((host) => [pool.region, host.host, host.status, host.reason ?? "", ms(host.latencyMs), new Date(host.since).toLocaleString()]),
  );
  rows(body, hostRows, "no pools");
  // Green only for a host whose last probe passed (or a listed managed pool); failing is amber.
  const style = { up: "up", listed: "up", failing: "failing", down: "down" };
  for (const tr of body.children) {
    const verdict = style[tr.children[2]?.textContent ?? ""];
    if (verdict) tr.children[2].classList.add(verdict);
  }
  panel.append(table);
}

/** A line chart of some series keys, as inline SVG: one polyline per key, a grid, the scale. */
function chart(svg, series, keys) {
  const [width, height, left, bottom, top] = [600, 170, 34, 20, 8];
  const points = series.points;
  const max = Math.max(1, ...points.flatMap((point) => keys.map(([key]) => point[key])));
  const x = (i) => left + (i * (width - left - 6)) / Math.max(1, points.length - 1);
  const y = (value) => top + (height - top - bottom) * (1 - value / max);
  const element = (name, attributes, content) => {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (content !== undefined) node.textContent = content;
    return node;
  };
  svg.replaceChildren();
  for (const fraction of [0, 0.5, 1]) {
    const level = y(max * fraction);
    svg.append(element("line", { class: "grid", x1: left, x2: width, y1: level, y2: level }));
    svg.append(element("text", { class: "axis", x: left - 4, y: level + 4, "text-anchor": "end" }, String(Math.round(max * fraction))));
  }
  const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (points.length > 0) {
    svg.append(element("text", { class: "axis", x: left, y: height - 4 }, time(points[0].at)));
    svg.append(element("text", { class: "axis", x: width, y: height - 4, "text-anchor": "end" }, time(points[points.length - 1].at)));
  }
  for (const [key, cls] of keys) {
    svg.append(element("polyline", { class: `line ${cls}`, points: points.map((point, i) => `${x(i).toFixed(1)},${y(point[key]).toFixed(1)}`).join(" ") }));
  }
}

function choose(window) {
  view.window = window;
  $("window-hour").classList.toggle("on", window === "lastHour");
  $("window-day").classList.toggle("on", window === "last24h");
  render();
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token").value = "";
    text("signin-error", "");
    signedIn(token);
    void refresh();
  });
  $("signout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    view.stats = undefined;
    signedIn(undefined);
  });
  $("window-hour").addEventListener("click", () => choose("lastHour"));
  $("window-day").addEventListener("click", () => choose("last24h"));
  signedIn(sessionStorage.getItem(TOKEN_KEY) ?? undefined);
  void refresh();
  view.timer = setInterval(() => void refresh(), REFRESH_MS);
});
