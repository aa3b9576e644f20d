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

// --- charts: our own small SVG, with axes, thresholds and marks ---

const CHARTS = [
  { title: "Traffic", unit: "/s", keys: ["arrival_rate", "throughput"] },
  { title: "Errors and degraded (% of requests)", unit: "%", keys: ["error_ratio", "degraded_ratio"] },
  { title: "Latency", unit: "s", keys: ["latency_p50", "latency_p95", "latency_p99"] },
  { title: "In flight", unit: "", keys: ["in_flight"] },
  { title: "Wrong answers found by evals (% of requests)", unit: "%", keys: ["eval_ratio"] },
  { title: "Pools: utilization", unit: "%", match: / utilization$/ },
  { title: "Pools: waiting", unit: "", match: / waiting$/ },
  { title: "Steps: time", unit: "s", match: /^step / },
];
const COLOURS = ["#2b6cb0", "#c05621", "#2f855a", "#9b2c2c", "#6b46c1", "#b7791f"];
const SVG = "http://www.w3.org/2000/svg";

// The drill's clock at its start (seconds after midnight), once a state has said; null: T+.
let clockStart = null;
const pad2 = (n) => String(n).padStart(2, "0");
function clockAt(t, seconds) {
  const s = Math.floor(t);
  if (clockStart === null) {
    const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    return "T+" + pad2(h) + ":" + pad2(m) + (seconds ? ":" + pad2(s % 60) : "");
  }
  const c = (((clockStart + s) % 86400) + 86400) % 86400;
  return pad2(Math.floor(c / 3600)) + ":" + pad2(Math.floor(c / 60) % 60) + (seconds ? ":" + pad2(c % 60) : "");
}
function formatValue(v, unit) {
  if (unit === "%") {
    const p = v * 100;
    return (Math.abs(p) >= 10 || p === 0 ? p.toFixed(0) : p.toPrecision(2)) + "%";
  }
  const n = Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toPrecision(2);
  return unit === "s" ? n + " s" : unit === "/s" ? n + "/s" : n;
}
// The smallest round step (1, 2, 2.5, 5 × 10^k) with at most four steps reaching x.
function niceStep(x) {
  if (!(x > 0)) return 0.25;
  const q = x / 4, p = Math.pow(10, Math.floor(Math.log10(q)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= q * (1 - 1e-9)) return m * p;
  return 10 * p;
}
const svgEl = (tag, attrs, text) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};

// One chart: series {name: [[t, v]]}; options: unit, thresholds [{alert, value}], marks
// [{t, kind, label}], the time span [t0, t1].
function drawChart(box, title, series, opts) {
  const unit = opts.unit || "";
  const w = 600, h = 190, left = 50, right = 10, top = 8, bottom = 22;
  const [t0, t1] = opts.span;
  const tspan = Math.max(t1 - t0, 1);
  let max = 0;
  for (const pts of Object.values(series)) for (const [, v] of pts) max = Math.max(max, v);
  for (const th of opts.thresholds || []) max = Math.max(max, th.value * 1.15);
  if (unit === "%" && max <= 0) max = 0.01;
  const step = niceStep(max);
  max = Math.max(step, Math.ceil(max / step - 1e-9) * step);
  const x = (t) => left + (t - t0) / tspan * (w - left - right);
  const y = (v) => h - bottom - v / max * (h - top - bottom);
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, class: "chart", tabindex: "0", role: "img", "aria-label": title });
  // y grid and ticks with units
  for (let v = 0; v <= max + 1e-9; v += step) {
    svg.append(svgEl("line", { x1: left, x2: w - right, y1: y(v), y2: y(v), class: "grid" }));
    svg.append(svgEl("text", { x: left - 4, y: y(v) + 4, class: "tick y", "text-anchor": "end" }, formatValue(v, unit)));
  }
  // time axis with clock labels
  const tstep = [60, 120, 300, 600, 900, 1800, 3600, 7200].find((s) => tspan / s <= 6) || 14400;
  for (let t = Math.ceil(t0 / tstep) * tstep; t <= t1 + 1e-9; t += tstep) {
    svg.append(svgEl("line", { x1: x(t), x2: x(t), y1: h - bottom, y2: h - bottom + 4, class: "axis" }));
    const anchor = x(t) > w - right - 18 ? "end" : x(t) < left + 18 ? "start" : "middle";
    svg.append(svgEl("text", { x: x(t), y: h - 6, class: "tick x", "text-anchor": anchor }, clockAt(t, false)));
  }
  svg.append(svgEl("line", { x1: left, x2: w - right, y1: h - bottom, y2: h - bottom, class: "axis" }));
  // marks: actions (everyone), faults (the facilitator's stream only carries them)
  for (const m of opts.marks || []) {
    if (m.t < t0 || m.t > t1) continue;
    const g = svgEl("g", { class: "mark " + m.kind });
    g.append(svgEl("line", { x1: x(m.t), x2: x(m.t), y1: top, y2: h - bottom }));
    g.append(svgEl("title", {}, `${m.clock} ${m.label}`));
    svg.append(g);
  }
  // alert thresholds on the chart of their metric
  for (const th of opts.thresholds || []) {
    const g = svgEl("g", { class: "threshold", "data-alert": th.alert });
    g.append(svgEl("line", { x1: left, x2: w - right, y1: y(th.value), y2: y(th.value) }));
    g.append(svgEl("text", { x: w - right - 2, y: y(th.value) - 3, "text-anchor": "end" }, `${th.alert} ${formatValue(th.value, unit)}`));
    svg.append(g);
  }
  let i = 0;
  const legend = el("div", "legend");
  const colours = {};
  for (const [name, pts] of Object.entries(series)) {
    const colour = COLOURS[i++ % COLOURS.length];
    colours[name] = colour;
    svg.append(svgEl("polyline", {
      fill: "none", stroke: colour, "stroke-width": "2",
      points: pts.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" "),
    }));
    const last = pts.length ? pts[pts.length - 1][1] : 0;
    const item = el("span", null, `${name} ${formatValue(last, unit)}`);
    item.style.color = colour;
    legend.append(item);
  }
  // hover and keyboard readout of the values at a time
  const cursor = svgEl("line", { class: "cursor", y1: top, y2: h - bottom, x1: -10, x2: -10 });
  svg.append(cursor);
  const readout = el("div", "readout", " ");
  const times = [...new Set(Object.values(series).flatMap((pts) => pts.map(([t]) => t)))].sort((a, b) => a - b);
  let at = times.length - 1;
  const show = (k) => {
    if (!times.length) return;
    at = Math.max(0, Math.min(times.length - 1, k));
    const t = times[at];
    cursor.setAttribute("x1", x(t)); cursor.setAttribute("x2", x(t));
    const parts = Object.entries(series).map(([name, pts]) => {
      const p = pts.find(([pt]) => pt === t);
      return p ? `${name} ${formatValue(p[1], unit)}` : null;
    }).filter(Boolean);
    readout.textContent = `${clockAt(t, true)}  ${parts.join("  ")}`;
  };
  svg.addEventListener("pointermove", (ev) => {
    const r = svg.getBoundingClientRect();
    const t = t0 + ((ev.clientX - r.left) / r.width * w - left) / (w - left - right) * tspan;
    let best = 0;
    for (let k = 0; k < times.length; k++) if (Math.abs(times[k] - t) < Math.abs(times[best] - t)) best = k;
    show(best);
  });
  svg.addEventListener("focus", () => show(at));
  svg.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowLeft") { show(at - 1); ev.preventDefault(); }
    if (ev.key === "ArrowRight") { show(at + 1); ev.preventDefault(); }
  });
  const fig = el("figure", "chart-box");
  fig.append(el("figcaption", null, title + (unit === "/s" ? " (per second)" : unit === "s" ? " (seconds)" : unit === "%" && !title.includes("%") ? " (%)" : "")), svg, legend, readout);
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
  let marks = [];
  let alerts = [];
  let lastDraw = 0;
  const redraw = () => {
    const box = $("charts");
    box.replaceChildren();
    const keys = new Set();
    for (const p of points) for (const k of Object.keys(p.v)) keys.add(k);
    const span = [points.length ? points[0].t : 0, points.length ? points[points.length - 1].t + points[points.length - 1].width : 60];
    const seriesOf = (k) => points.filter((p) => k in p.v).map((p) => [p.t, p.v[k]]);
    const thresholdsOf = (chosen) => alerts.filter((a) => a.metric && chosen.includes(a.metric)).map((a) => ({ alert: a.name, value: a.threshold }));
    for (const c of CHARTS) {
      const chosen = c.keys ? c.keys.filter((k) => keys.has(k)) : [...keys].filter((k) => c.match.test(k));
      if (!chosen.length) continue;
      const series = {};
      for (const k of chosen) series[k] = seriesOf(k);
      drawChart(box, c.title, series, { unit: c.unit, span, marks, thresholds: thresholdsOf(chosen) });
    }
    // An alert on a metric no chart above shows: a chart of its own.
    for (const k of [...keys].filter((k) => k.startsWith("alert "))) {
      const a = alerts.find((x) => x.metric === k);
      const unit = a ? a.unit : "";
      drawChart(box, `${k.slice(6)}: ${a ? a.metric_name : ""}`, { [a ? a.metric_name : k]: seriesOf(k) }, { unit, span, marks, thresholds: thresholdsOf([k]) });
    }
    // The drill's own dashboard panels, one chart each.
    for (const k of [...keys].filter((k) => k.startsWith("panel "))) {
      drawChart(box, k.slice(6), { [k.slice(6)]: seriesOf(k) }, { span, marks, thresholds: thresholdsOf([k]) });
    }
    if (me.access === "facilitator" && truth.length) {
      const tbox = $("truth-chart");
      tbox.replaceChildren();
      drawChart(tbox, "Wrong answers as they happen (truth)", { wrong_answer_ratio: truth }, { unit: "%", span, marks });
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
  // The request log's filter: level, step and text, over every `logs` answer on the page.
  const steps = new Set();
  const logShown = (line) => {
    const level = $("log-level").value, step = $("log-step").value, text = $("log-text").value.trim().toLowerCase();
    return (!level || line.dataset.level === level) && (!step || line.dataset.step === step) &&
      (!text || line.textContent.toLowerCase().includes(text));
  };
  const filterLogs = () => {
    for (const line of timeline.querySelectorAll(".log-line")) line.hidden = !logShown(line);
  };
  for (const id of ["log-level", "log-step", "log-text"]) $(id).addEventListener("input", filterLogs);
  $("log-filter").addEventListener("submit", (ev) => ev.preventDefault());
  const logBody = (body) => {
    const pre = el("pre", "body");
    for (const text of body.split("\n")) {
      const m = /^\S+ (INFO|WARN|ERROR)\b/.exec(text);
      const line = el("div", m ? "log-line" : null, text);
      if (m) {
        line.dataset.level = m[1];
        const step = / step=(\S+)/.exec(text);
        if (step) {
          line.dataset.step = step[1];
          if (!steps.has(step[1])) {
            steps.add(step[1]);
            const o = el("option", null, step[1]);
            o.value = step[1];
            $("log-step").append(o);
          }
        }
        line.hidden = !logShown(line);
      }
      pre.append(line);
    }
    return pre;
  };
  const addTimeline = (cls, head, body, isLog) => {
    const li = el("li", cls);
    li.append(el("div", "head", head));
    if (body) li.append(isLog ? logBody(body) : el("pre", "body", body));
    timeline.append(li);
    while (timeline.children.length > 500) timeline.firstChild.remove();
    li.scrollIntoView({ block: "nearest" });
  };

  let live = false;
  const events = new EventSource(`${base}/events?t=${encodeURIComponent(token)}`);
  const on = (kind, f) => events.addEventListener(kind, (ev) => f(JSON.parse(ev.data)));
  on("reset", () => {
    points = []; truth = []; marks = [];
    timeline.replaceChildren();
    $("facts").replaceChildren();
    scheduleDraw();
  });
  // The clock moves every second in realtime: from the last state, at its speed.
  let stateAt = null;
  const tickClock = () => {
    if (!stateAt) return;
    const s = stateAt.s;
    const t = s.now_ns / 1e9 + (s.running ? (Date.now() - stateAt.wall) / 1000 * s.speed : 0);
    $("clock").textContent = s.running ? clockAt(Math.min(t, stateAt.limit), true) : s.clock;
  };
  setInterval(tickClock, 250);
  on("state", (s) => {
    if (!s.ended) live = true;
    const hms = /^(\d\d):(\d\d):(\d\d)$/.exec(s.clock);
    if (hms) clockStart = Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3]) - Math.floor(s.now_ns / 1e9);
    // Never run ahead of the next bucket the server will send (it sends a state with each).
    stateAt = { s, wall: Date.now(), limit: s.now_ns / 1e9 + 60 };
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
      `By ${c.clock}: ${n(c.team.harmed)} users harmed (${n(c.team.failed_attempts)} failed or rejected attempts); ` +
      `with no response ${n(c.no_response.harmed)} (${n(c.no_response.failed_attempts)}): ` +
      (c.avoided >= 0 ? `${n(c.avoided)} avoided so far.` : `${n(-c.avoided)} more than no response so far.`);
  });
  on("mark", (m) => { marks.push(m); scheduleDraw(); });
  on("fact", (f) => $("facts").append(el("li", null, `[${f.clock}] ${f.text}`)));
  on("news", (n) => addTimeline("news " + n.kind, n.text));
  on("command", (c) => addTimeline("command", `[${c.clock}] ${c.person ? c.person + " " : ""}(${c.role})> ${c.input}`, c.output, /^logs\b/.test(c.input)));
  on("alerts", (a) => {
    alerts = a.alerts;
    scheduleDraw();
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
