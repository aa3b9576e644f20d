// firedrill war room: the lobby and the room pages. Hand-written, no dependencies.
// Everything from the server or from players is put on the page as text (textContent),
// never as HTML. Tokens live in the URL fragment, so they are never sent as a Referer.
"use strict";

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const fragment = (name) => new URLSearchParams(location.hash.slice(1)).get(name);

async function api(method, path, token, csrf, body) {
  const headers = { "X-Firedrill-Token": token };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-Firedrill-Csrf"] = csrf;
  }
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const e = new Error((data.error || r.statusText) + (data.hint ? " (" + data.hint + ")" : ""));
    e.status = r.status;
    throw e;
  }
  return data;
}

// --- the lobby ---

async function lobby() {
  const token = fragment("admin");
  if (!token) { $("status").textContent = "open the facilitator link the server printed"; return; }
  const me = await api("GET", "/api/me", token);
  const lib = await api("GET", "/api/library", token);
  for (const d of lib.drills) {
    const o = el("option", null, d.name + (d.title ? " — " + d.title : ""));
    o.value = d.name;
    $("drill").append(o);
  }
  const list = async () => {
    const rooms = await api("GET", "/api/rooms", token);
    $("rooms").replaceChildren(...rooms.rooms.map((r) => {
      const li = el("li", null);
      li.append(el("strong", null, r.title + " (" + r.id + ")" + (r.ended ? " — over" : "")));
      li.append(linkList(r.links));
      return li;
    }));
  };
  $("create").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { clock: $("clock").value, speed: Number($("speed").value) || 1 };
    if ($("seed").value !== "") body.seed = Number($("seed").value);
    if ($("team").value.trim() !== "") body.team = $("team").value.trim();
    const file = $("upload").files[0];
    if (file) body.drill_text = await file.text(); else body.drill = $("drill").value;
    $("problems").hidden = true;
    try {
      await api("POST", "/api/rooms", token, me.csrf, body);
      await list();
    } catch (e) {
      $("problems").textContent = e.message;
      $("problems").hidden = false;
    }
  });
  await list();
}

function linkList(links) {
  const ul = el("ul", "links");
  const add = (label, path) => {
    const li = el("li");
    li.append(el("span", null, label + ": "));
    const a = el("a", null, location.origin + path);
    a.href = path;
    a.target = "_blank";
    a.rel = "noopener";
    li.append(a);
    ul.append(li);
  };
  add("facilitator", links.facilitator);
  add("projector", links.projector);
  for (const [role, path] of Object.entries(links.roles)) add(role, path);
  return ul;
}

// --- charts: inline SVG polylines ---

const CHARTS = [
  { title: "Traffic (req/s)", keys: ["arrival_rate", "throughput"] },
  { title: "Errors and degraded (ratio)", keys: ["error_ratio", "degraded_ratio"] },
  { title: "Latency (s)", keys: ["latency_p50", "latency_p99"] },
  { title: "Pools: utilization", match: / utilization$/ },
  { title: "Pools: waiting", match: / waiting$/ },
  { title: "Steps: time (s)", match: /^step / },
];
const COLOURS = ["#2b6cb0", "#c05621", "#2f855a", "#9b2c2c", "#6b46c1", "#b7791f"];
const SVG = "http://www.w3.org/2000/svg";

function drawChart(box, title, series) {
  const w = 420, h = 120, pad = 4;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("class", "chart");
  let max = 0, tmax = 0, tmin = Infinity;
  for (const pts of Object.values(series)) for (const [t, v] of pts) {
    max = Math.max(max, v); tmax = Math.max(tmax, t); tmin = Math.min(tmin, t);
  }
  if (max <= 0) max = 1;
  const span = Math.max(tmax - tmin, 1);
  let i = 0;
  const legend = el("div", "legend");
  for (const [name, pts] of Object.entries(series)) {
    const colour = COLOURS[i++ % COLOURS.length];
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", colour);
    line.setAttribute("stroke-width", "2");
    line.setAttribute("points", pts.map(([t, v]) =>
      `${(pad + (t - tmin) / span * (w - 2 * pad)).toFixed(1)},${(h - pad - v / max * (h - 2 * pad)).toFixed(1)}`).join(" "));
    svg.append(line);
    const last = pts.length ? pts[pts.length - 1][1] : 0;
    const item = el("span", null, `${name} ${last.toPrecision(3)}`);
    item.style.color = colour;
    legend.append(item);
  }
  const fig = el("figure", "chart-box");
  fig.append(el("figcaption", null, `${title} (max ${max.toPrecision(3)})`), svg, legend);
  box.append(fig);
}

// --- the room ---

async function room() {
  const token = fragment("t");
  if (!token) { $("who").textContent = "open the link the facilitator gave you"; return; }
  const id = location.pathname.split("/").pop();
  const base = `/api/rooms/${id}`;
  const me = await api("GET", "/api/me", token);
  const post = (what, body) => api("POST", `${base}/${what}`, token, me.csrf, body);
  document.body.classList.add(me.access);
  $("title").textContent = me.title;
  $("who").textContent = me.access === "player" ? `role: ${me.role}` : me.access;
  $("debrief-link").href = `${base}/debrief?t=${encodeURIComponent(token)}`;
  $("transcript-link").href = `${base}/transcript?t=${encodeURIComponent(token)}`;
  const showError = (e) => { $("error").textContent = e ? e.message : ""; };

  let name = localStorage.getItem("firedrill-name-" + token);
  if (me.access === "player") {
    const join = async (n) => {
      await post("join", { name: n });
      name = n;
      localStorage.setItem("firedrill-name-" + token, n);
      $("join").hidden = true;
      $("command").hidden = false;
      $("line").focus();
    };
    if (name) await join(name).catch(() => { $("join").hidden = false; });
    else $("join").hidden = false;
    $("join").addEventListener("submit", (ev) => {
      ev.preventDefault();
      join($("name").value.trim()).catch(showError);
    });
    commandBox(me, (line) => post("command", { name, line }), showError);
  }
  if (me.access === "facilitator") facilitator(me, post, showError);

  // State from the stream.
  let points = [];
  let truth = [];
  let lastDraw = 0;
  const redraw = () => {
    const box = $("charts");
    box.replaceChildren();
    const keys = new Set();
    for (const p of points) for (const k of Object.keys(p.v)) keys.add(k);
    for (const c of CHARTS) {
      const chosen = c.keys ? c.keys.filter((k) => keys.has(k)) : [...keys].filter((k) => c.match.test(k));
      if (!chosen.length) continue;
      const series = {};
      for (const k of chosen) series[k] = points.filter((p) => k in p.v).map((p) => [p.t, p.v[k]]);
      drawChart(box, c.title, series);
    }
    // The drill's own dashboard panels, one chart each.
    for (const k of [...keys].filter((k) => k.startsWith("panel "))) {
      drawChart(box, k.slice(6), { [k]: points.filter((p) => k in p.v).map((p) => [p.t, p.v[k]]) });
    }
    if (me.access === "facilitator" && truth.length) {
      const tbox = $("truth-chart");
      tbox.replaceChildren();
      drawChart(tbox, "Wrong answers as they happen (truth)", { wrong_answer_ratio: truth });
    }
    lastDraw = Date.now();
  };
  let drawPending = false;
  const scheduleDraw = () => {
    if (drawPending) return;
    drawPending = true;
    setTimeout(() => { drawPending = false; redraw(); }, Math.max(0, 500 - (Date.now() - lastDraw)));
  };
  const timeline = $("timeline");
  const addTimeline = (cls, head, body) => {
    const li = el("li", cls);
    li.append(el("div", "head", head));
    if (body) li.append(el("pre", "body", body));
    timeline.append(li);
    while (timeline.children.length > 500) timeline.firstChild.remove();
    li.scrollIntoView({ block: "nearest" });
  };

  let live = false;
  const events = new EventSource(`${base}/events?t=${encodeURIComponent(token)}`);
  const on = (kind, f) => events.addEventListener(kind, (ev) => f(JSON.parse(ev.data)));
  on("reset", () => {
    points = []; truth = [];
    timeline.replaceChildren();
    $("facts").replaceChildren();
    scheduleDraw();
  });
  on("state", (s) => {
    if (!s.ended) live = true;
    $("clock").textContent = s.clock;
    $("running").textContent = s.ended ? "over" : s.mode === "turns" ? "turn-based" : s.running ? `running ×${s.speed}` : s.started ? "paused" : "not started";
    $("reveal").checked = s.checklists_revealed;
    $("ended").hidden = !s.ended;
    if (s.ended) $("command").hidden = true;
  });
  on("telemetry", (p) => { points.push(p); scheduleDraw(); });
  on("truth", (t) => {
    truth.push([t.t, t.wrong_answer_ratio]);
    $("faults").replaceChildren(...t.faults.map((f) =>
      el("li", f.active ? "active" : "", `${f.fault}: ${f.active ? "ACTIVE since " + f.started : f.ended ? "ended " + f.ended : "not started"}`)));
    scheduleDraw();
  });
  on("counterfactual", (c) => {
    const n = (x) => x.toLocaleString("en-US");
    $("counterfactual").textContent =
      `By ${c.clock}: ${n(c.team.harmed)} requests harmed (${n(c.team.wrong_answers)} wrong answers); ` +
      `with no response ${n(c.no_response.harmed)} (${n(c.no_response.wrong_answers)}): ` +
      (c.avoided >= 0 ? `${n(c.avoided)} avoided so far.` : `${n(-c.avoided)} more than no response so far.`);
  });
  on("fact", (f) => $("facts").append(el("li", null, `[${f.clock}] ${f.text}`)));
  on("news", (n) => addTimeline("news " + n.kind, n.text));
  on("command", (c) => addTimeline("command", `[${c.clock}] ${c.person ? c.person + " " : ""}(${c.role})> ${c.input}`, c.output));
  on("alerts", (a) => {
    $("alerts").replaceChildren(...a.alerts.map((x) =>
      el("li", "alert " + x.phase, `${x.name} [${x.severity}] ${x.phase}${x.phase !== "inactive" ? " since " + x.since : ""}`)));
  });
  on("people", (p) => {
    $("people").replaceChildren(...p.people.map((x) => el("li", null, `${x.name} (${x.role})`)));
  });
  on("checklist", (c) => {
    $("checklist-panel").hidden = !c.shown;
    $("checklist").replaceChildren(...c.tasks.map((t) => el("li", t.done ? "done" : "", `${t.done ? "✓" : "·"} ${t.text} (due ${t.due})`)));
  });
  on("checklists", (c) => {
    $("checklist-panel").hidden = false;
    $("checklist").replaceChildren(...c.tasks.map((t) => el("li", t.status, `${t.role}: ${t.text} — ${t.status}`)));
  });
  on("end", () => {
    $("ended").hidden = false;
    $("command").hidden = true;
    // Whoever was in the room as it ended is taken to the debrief (a page opened after the
    // end stays, with the links).
    if (live) setTimeout(() => { location.href = $("debrief-link").href; }, 1500);
  });
}

function commandBox(me, send, showError) {
  const input = $("line");
  const history = [];
  let at = 0;
  const words = [...(me.commands || []), ...(me.alerts || [])];
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowUp" && at > 0) { at--; input.value = history[at]; ev.preventDefault(); }
    else if (ev.key === "ArrowDown") { at = Math.min(at + 1, history.length); input.value = history[at] || ""; ev.preventDefault(); }
    else if (ev.key === "Tab") {
      const parts = input.value.split(" ");
      const last = parts.pop();
      const found = words.filter((w) => w.startsWith(last));
      if (found.length === 1) { parts.push(found[0]); input.value = parts.join(" ") + " "; }
      else if (found.length > 1) showError(new Error(found.join("  ")));
      ev.preventDefault();
    }
  });
  $("command").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const line = input.value.trim();
    if (!line) return;
    history.push(line);
    at = history.length;
    input.value = "";
    try { await send(line); showError(null); } catch (e) { showError(e); }
  });
}

function facilitator(me, post, showError) {
  $("controls").hidden = false;
  $("truth").hidden = false;
  for (const r of me.roles) {
    const o = el("option", null, r);
    o.value = r;
    $("inject-to").append(o);
  }
  $("links").append(linkList(me.links));
  for (const b of document.querySelectorAll("#controls button[data-op]")) {
    b.addEventListener("click", async () => {
      const op = b.dataset.op;
      const body = { op };
      if (op === "speed") body.speed = Number($("speed").value);
      if (op === "advance") body.by = $("advance").value;
      try { await post("control", body); showError(null); } catch (e) { showError(e); }
    });
  }
  $("inject").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const to = $("inject-to").value || null;
    try {
      await post("inject", { to, from: $("inject-from").value, message: $("inject-message").value });
      $("inject-message").value = "";
      showError(null);
    } catch (e) { showError(e); }
  });
  $("reveal").addEventListener("change", () => post("checklists", { revealed: $("reveal").checked }).catch(showError));
  prevention(me, post);
}

// The facilitator's "after the incident" panel: change files, their what-if on this session,
// and the postmortem with them as action items.
function prevention(me, post) {
  const token = fragment("t");
  const base = location.pathname.replace(/^\/room\//, "/api/rooms/");
  const out = $("whatif-result");
  const show = (e) => { out.textContent = e.message; };
  const list = (entries) => {
    $("changes").replaceChildren(...entries.map((c) =>
      el("li", null, `${c.title}${c.kind ? " · " + c.kind : ""}${c.owner ? " · " + c.owner : ""} (${c.file})`)));
  };
  const links = () => {
    const runs = encodeURIComponent($("whatif-runs").value || "1");
    const q = `t=${encodeURIComponent(token)}&runs=${runs}`;
    $("postmortem-md").href = `${base}/postmortem?${q}&format=md`;
    $("postmortem-html").href = `${base}/postmortem?${q}&format=html`;
  };
  $("prevent").hidden = false;
  links();
  $("whatif-runs").addEventListener("change", links);
  api("GET", `${base}/changes`, token).then(list).catch(show);
  $("change-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    out.textContent = "";
    for (const file of $("change-file").files) {
      try {
        list(await post("changes", { name: file.name, text: await file.text() }));
      } catch (e) { show(e); return; }
    }
    $("change-file").value = "";
  });
  $("changes-clear").addEventListener("click", async () => {
    try { list(await api("DELETE", `${base}/changes`, token, me.csrf)); out.textContent = ""; } catch (e) { show(e); }
  });
  $("whatif-run").addEventListener("click", async () => {
    out.textContent = "running...";
    const runs = encodeURIComponent($("whatif-runs").value || "1");
    const r = await fetch(`${base}/whatif?format=text&runs=${runs}`, { headers: { "X-Firedrill-Token": token } });
    if (r.ok) { out.textContent = await r.text(); return; }
    const data = await r.json().catch(() => ({}));
    out.textContent = (data.error || r.statusText) + (data.hint ? "\n" + data.hint : "");
  });
}

const page = document.body.dataset.page;
(page === "lobby" ? lobby() : room()).catch((e) => {
  const where = document.getElementById("error") || document.getElementById("status");
  if (where) where.textContent = e.message;
});
