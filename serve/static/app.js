// sgan serve's page: plain JavaScript, no libraries, no network access beyond this server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { info: null, version: "", selected: null, gridToken: 0, mixToken: 0, live: null, liveGrid: "" };

// status shows a one-line message; errors stay until the next action succeeds.
function status(msg, isError) {
  const el = $("status");
  el.textContent = msg || "";
  el.className = isError ? "error" : "";
}

// api fetches a JSON answer, throwing the server's one-line message on failure.
async function api(path, opts) {
  const res = await fetch(path, opts);
  if (!res.ok) {
    const text = (await res.text()).trim();
    throw new Error(text || res.status + " " + res.statusText);
  }
  return res.json();
}

// explain shows why an image URL failed (images cannot read their error text).
async function explain(url) {
  try {
    const res = await fetch(url);
    status(res.ok ? "" : (await res.text()).trim(), !res.ok);
  } catch (e) {
    status("the server did not answer: " + e.message, true);
  }
}

// seedOf reads a seed input: a whole number from 0 to the server's limit, or null (with a message).
function seedOf(id, label) {
  const v = $(id).value.trim();
  const max = state.info ? state.info.limits.seed : Number.MAX_SAFE_INTEGER;
  if (!/^\d+$/.test(v) || Number(v) > max) {
    status(label + " " + JSON.stringify(v) + ": a seed is a whole number from 0 to " + max, true);
    return null;
  }
  return v;
}

// look is the truncation, noise and class of every image.
function look() {
  const p = new URLSearchParams();
  p.set("psi", Number($("psi").value).toString());
  p.set("noise", $("noise").value);
  if (state.info && state.info.model && state.info.model.conditional) p.set("class", $("class").value);
  return p;
}

// whenLoaded resolves when every image has loaded (or failed: then false).
function whenLoaded(imgs) {
  return Promise.all(imgs.map((img) => new Promise((resolve) => {
    if (img.complete && img.naturalWidth > 0) return resolve(true);
    img.addEventListener("load", () => resolve(true), { once: true });
    img.addEventListener("error", () => resolve(false), { once: true });
  }))).then((ok) => ok.every(Boolean));
}

async function loadInfo() {
  const info = await api("/api/info");
  state.info = info;
  const m = info.model;
  $("nav-live").hidden = !info.live;
  $("live").hidden = !info.live;
  if (!m) {
    $("model").textContent = info.error ? "no model: " + info.error : "waiting for the run's first checkpoint…";
    for (const id of ["controls", "samples", "mix", "walk", "project"]) $(id).hidden = true;
    return false;
  }
  for (const id of ["controls", "samples", "mix", "walk", "project"]) $(id).hidden = false;
  state.version = info.version;
  const classes = m.conditional ? ", classes " + m.classes.join("/") : "";
  $("model").textContent = m.name + " · " + m.resolution + "×" + m.resolution + classes + " · " + info.device;
  $("model").title = m.checkpoint;
  fillClasses($("class"), m.classes, $("class").value);
  fillClasses($("project-class"), m.classes, $("project-class").value);
  const to = $("project-to");
  const prevTo = to.value;
  to.replaceChildren(new Option("none", ""));
  for (const c of m.classes) to.add(new Option(c, c));
  to.value = m.classes.includes(prevTo) ? prevTo : "";
  $("class-label").hidden = !m.conditional;
  for (const el of document.querySelectorAll("#project .cond")) el.hidden = !m.conditional;
  for (const el of document.querySelectorAll("[data-range]")) {
    const r = m.mix[el.dataset.range];
    el.textContent = r[1] > r[0] ? "(layers " + r[0] + "–" + (r[1] - 1) + ")" : "(none at this size)";
  }
  if (!state.counted) {
    state.counted = true;
    const sizes = [9, 16, 25, 36, 49, 64].filter((n) => n <= info.limits.grid);
    $("count").replaceChildren(...sizes.map((n) => new Option(String(n), String(n), n === 16, n === 16)));
  }
  $("project-steps").max = info.limits.project_steps;
  $("project-steps").value = $("project-steps").value || info.limits.default_project_steps;
  $("walk-steps").max = info.limits.interp_steps;
  return true;
}

function fillClasses(sel, classes, keep) {
  sel.replaceChildren();
  for (const c of classes) sel.add(new Option(c, c));
  if (classes.includes(keep)) sel.value = keep;
}

// renderGrid asks the server to render a page of seeds (one batch) and shows it.
async function renderGrid() {
  const start = seedOf("start", "first seed");
  if (start === null) return;
  const token = ++state.gridToken;
  const p = look();
  p.set("start", start);
  p.set("count", $("count").value);
  document.body.dataset.gridState = "loading";
  status("rendering seeds " + start + "…");
  let g;
  try {
    g = await api("/api/grid?" + p);
  } catch (e) {
    if (token === state.gridToken) status(e.message, true);
    return;
  }
  if (token !== state.gridToken) return;
  const figs = g.images.map((im) => {
    const fig = document.createElement("figure");
    const img = new Image();
    img.src = im.url;
    img.alt = "seed " + im.seed;
    img.dataset.seed = im.seed;
    const cap = document.createElement("figcaption");
    cap.textContent = "seed " + im.seed;
    fig.append(img, cap);
    fig.addEventListener("click", () => select(im.seed, true));
    if (String(im.seed) === String(state.selected)) fig.classList.add("selected");
    return fig;
  });
  $("grid").replaceChildren(...figs);
  $("grid-download").href = g.grid + "&download=1";
  const ok = await whenLoaded(figs.map((f) => f.querySelector("img")));
  if (token !== state.gridToken) return;
  if (!ok) return explain(g.images[0].url);
  document.body.dataset.gridPsi = p.get("psi");
  document.body.dataset.gridState = "ready";
  status("");
  if (state.selected !== null) select(state.selected);
}

// select shows one seed large, with its downloads (scrolled into view when clicked).
function select(seed, scroll) {
  state.selected = String(seed);
  for (const f of document.querySelectorAll("#grid figure")) {
    f.classList.toggle("selected", f.querySelector("img").dataset.seed === state.selected);
  }
  const p = look();
  p.set("seed", state.selected);
  p.set("v", state.version);
  const img = $("large-img");
  img.onerror = () => explain(img.src);
  img.src = "/api/image.png?" + p;
  $("large-title").textContent = "seed " + state.selected + ", ψ " + p.get("psi") + ", noise " + p.get("noise") + (p.get("class") ? ", class " + p.get("class") : "");
  p.set("download", "1");
  $("large-download").href = "/api/image.png?" + p;
  p.set("scale", "4");
  $("large-download-big").href = "/api/image.png?" + p;
  $("large").hidden = false;
  if (scroll) $("large").scrollIntoView({ block: "nearest" });
}

// updateMix shows source, destination and the mixed image for the current inputs.
async function updateMix() {
  const src = seedOf("mix-src", "source seed");
  const dst = seedOf("mix-dst", "destination seed");
  if (src === null || dst === null) return;
  const token = ++state.mixToken;
  const layers = document.querySelector("input[name=layers]:checked").value;
  const p = look();
  p.set("v", state.version);
  const one = (seed) => { const q = new URLSearchParams(p); q.set("seed", seed); return "/api/image.png?" + q; };
  const q = new URLSearchParams(p);
  q.set("src", src);
  q.set("dst", dst);
  q.set("layers", layers);
  const imgs = [$("mix-src-img"), $("mix-dst-img"), $("mix-img")];
  const urls = [one(src), one(dst), "/api/mix.png?" + q];
  document.body.dataset.mixState = "loading";
  imgs.forEach((img, i) => { img.src = urls[i]; });
  q.set("download", "1");
  q.set("scale", "4");
  $("mix-download").href = "/api/mix.png?" + q;
  const ok = await whenLoaded(imgs);
  if (token !== state.mixToken) return;
  if (!ok) return explain(urls[2]);
  document.body.dataset.mixKey = [src, dst, layers, p.get("psi")].join(",");
  document.body.dataset.mixState = "ready";
}

// playWalk shows the animation between the two seeds.
function playWalk() {
  const a = seedOf("walk-a", "from seed");
  const b = seedOf("walk-b", "to seed");
  if (a === null || b === null) return;
  const steps = $("walk-steps").value;
  const p = look();
  p.set("seeds", a + "," + b);
  p.set("steps", steps);
  p.set("v", state.version);
  const img = $("walk-img");
  img.onerror = () => explain(img.src);
  img.onload = () => status("");
  status("rendering the walk…");
  img.src = "/api/interp.gif?" + p;
  img.hidden = false;
  p.set("download", "1");
  p.set("scale", "4");
  $("walk-download").href = "/api/interp.gif?" + p;
  $("walk-download").hidden = false;
}

// refreshAll redraws everything that depends on the look or the model.
function refreshAll() {
  renderGrid();
  updateMix();
  if (!$("walk-img").hidden) playWalk();
}

let psiTimer = 0;
function onPsi() {
  $("psi-out").textContent = Number($("psi").value).toFixed(2);
  clearTimeout(psiTimer);
  psiTimer = setTimeout(refreshAll, 150);
}

// Projection: upload, poll the progress, show the images.
async function startProjection(ev) {
  ev.preventDefault();
  const file = $("project-file").files[0];
  if (!file) return status("choose a scan (PNG or JPEG) first", true);
  if (file.size > state.info.limits.upload_bytes) {
    return status(file.name + " is larger than " + (state.info.limits.upload_bytes >> 20) + " MB", true);
  }
  const form = new FormData($("project-form"));
  if (!form.get("to_class")) form.delete("to_class");
  if (!state.info.model.conditional) form.delete("class");
  $("project-result").replaceChildren();
  $("project-go").disabled = true;
  let p;
  try {
    p = await api("/api/project", { method: "POST", body: form });
  } catch (e) {
    $("project-go").disabled = false;
    return status(e.message, true);
  }
  status("");
  $("project-cancel").hidden = false;
  $("project-cancel").onclick = () => api("/api/project/" + p.id + "/cancel", { method: "POST" }).catch((e) => status(e.message, true));
  document.body.dataset.projectState = p.state;
  pollProjection(p.id);
}

async function pollProjection(id) {
  let p;
  try {
    p = await api("/api/project/" + id);
  } catch (e) {
    $("project-go").disabled = false;
    return status(e.message, true);
  }
  const bar = $("project-progress");
  bar.hidden = false;
  bar.max = p.steps;
  bar.value = p.step;
  const psnr = p.step > 0 ? ", PSNR " + p.psnr.toFixed(2) + " dB" : "";
  $("project-state").textContent = p.name + ": " + p.state + (p.state === "running" ? " step " + p.step + "/" + p.steps + psnr : "") + (p.error ? ": " + p.error : "");
  document.body.dataset.projectState = p.state;
  if (p.state === "queued" || p.state === "running") {
    setTimeout(() => pollProjection(id), 400);
    return;
  }
  $("project-go").disabled = false;
  $("project-cancel").hidden = true;
  bar.hidden = true;
  if (p.state !== "done") return;
  const m = p.metrics;
  $("project-state").textContent = p.name + ": PSNR " + m.psnr.toFixed(2) + " dB, SSIM " + m.ssim.toFixed(3) + ", anomaly score " + m.anomaly.toFixed(3) + " (" + p.steps + " steps)";
  const captions = [["target", "target (as the model sees it)"], ["recon", "reconstruction"], ["diff", "|difference|"], ["anomaly", "anomaly map"],
    ["counterfactual", "as " + p.to_class], ["change", "change (red brighter, blue darker)"]];
  const figs = [];
  for (const [key, caption] of captions) {
    if (!p.images[key]) continue;
    const fig = document.createElement("figure");
    const img = new Image();
    img.src = p.images[key];
    img.alt = caption;
    img.dataset.kind = key;
    const cap = document.createElement("figcaption");
    const a = document.createElement("a");
    a.href = p.images[key] + "?download=1";
    a.download = "";
    a.textContent = "download";
    cap.append(caption + " ", a);
    fig.append(img, cap);
    figs.push(fig);
  }
  $("project-result").replaceChildren(...figs);
  await whenLoaded(figs.map((f) => f.querySelector("img")));
  document.body.dataset.projectState = "shown";
}

// Live view: losses and the newest grid of a run still training.
async function pollLive() {
  try {
    const l = await api("/api/live");
    state.live = l;
    drawLosses(l.losses);
    if (l.grid && l.grid !== state.liveGrid) {
      state.liveGrid = l.grid;
      $("live-grid").src = l.grid;
      $("live-grid-name").textContent = "newest sample grid: " + l.grid_name;
    }
    const ck = l.epoch >= 0 ? "checkpoint of epoch " + l.epoch + " loaded" : "no checkpoint yet";
    $("live-info").textContent = l.run_dir + ": " + ck + (l.load_error ? " (newest: " + l.load_error + ")" : "") + (l.loss_error ? "; " + l.loss_error : "");
    if (l.version && l.version !== state.version) {
      if (await loadInfo()) refreshAll();
    }
    document.body.dataset.liveState = "ready";
  } catch (e) {
    status(e.message, true);
  }
  setTimeout(pollLive, 3000);
}

const colors = ["#2f6fb3", "#c0392b", "#27ae60", "#8e44ad", "#d68910", "#16a085", "#7f8c8d", "#2c3e50", "#e84393"];

// drawLosses plots every loss column that has values against the step (the learning rate left out).
function drawLosses(d) {
  const cv = $("loss-plot");
  const ctx = cv.getContext("2d");
  ctx.clearRect(0, 0, cv.width, cv.height);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, cv.width, cv.height);
  ctx.font = "12px system-ui, sans-serif";
  ctx.fillStyle = "#5b6775";
  if (!d || d.steps.length === 0) {
    ctx.fillText("no losses logged yet", 20, 30);
    $("loss-caption").textContent = "losses";
    return;
  }
  // Columns with values (a run logs gp, r1, pl or ada_p only when they are on).
  const cols = d.columns.map((c, i) => i).filter((i) => d.columns[i] !== "lr" && d.values[i].some((v) => v !== null));
  let lo = Infinity, hi = -Infinity;
  for (const c of cols) for (const v of d.values[c]) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!isFinite(lo)) { lo = 0; hi = 1; }
  if (hi === lo) { hi += 1; lo -= 1; }
  const x0 = d.steps[0], x1 = d.steps[d.steps.length - 1] === x0 ? x0 + 1 : d.steps[d.steps.length - 1];
  const L = 56, R = cv.width - 130, T = 12, B = cv.height - 28;
  const X = (x) => L + (x - x0) / (x1 - x0) * (R - L);
  const Y = (y) => B - (y - lo) / (hi - lo) * (B - T);
  ctx.strokeStyle = "#e3e7ec";
  ctx.lineWidth = 1;
  for (let k = 0; k <= 4; k++) {
    const y = lo + (hi - lo) * k / 4;
    ctx.beginPath(); ctx.moveTo(L, Y(y)); ctx.lineTo(R, Y(y)); ctx.stroke();
    ctx.fillText(y.toPrecision(3), 4, Y(y) + 4);
    const x = x0 + (x1 - x0) * k / 4;
    ctx.fillText(String(Math.round(x)), X(x) - 12, cv.height - 8);
  }
  cols.forEach((c, n) => {
    ctx.strokeStyle = colors[n % colors.length];
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let pen = false;
    d.values[c].forEach((v, i) => {
      if (v === null) { pen = false; return; }
      if (pen) ctx.lineTo(X(d.steps[i]), Y(v)); else ctx.moveTo(X(d.steps[i]), Y(v));
      pen = true;
    });
    ctx.stroke();
    ctx.fillStyle = colors[n % colors.length];
    ctx.fillRect(R + 12, T + 6 + n * 18, 14, 3);
    ctx.fillStyle = "#1d2733";
    ctx.fillText(d.columns[c], R + 32, T + 11 + n * 18);
  });
  $("loss-caption").textContent = "losses: " + d.rows + " rows to epoch " + d.epoch + " (step on the x axis)";
}

async function main() {
  $("psi").addEventListener("input", onPsi);
  $("noise").addEventListener("change", refreshAll);
  $("class").addEventListener("change", refreshAll);
  $("start").addEventListener("change", renderGrid);
  $("count").addEventListener("change", renderGrid);
  const page = (dir) => {
    const n = Number($("count").value);
    const s = Math.max(0, Number($("start").value || 0) + dir * n);
    $("start").value = String(s);
    renderGrid();
  };
  $("prev").addEventListener("click", () => page(-1));
  $("next").addEventListener("click", () => page(1));
  $("large-close").addEventListener("click", () => { $("large").hidden = true; });
  $("as-src").addEventListener("click", () => { $("mix-src").value = state.selected; updateMix(); $("mix").scrollIntoView(); });
  $("as-dst").addEventListener("click", () => { $("mix-dst").value = state.selected; updateMix(); $("mix").scrollIntoView(); });
  $("as-walk-a").addEventListener("click", () => { $("walk-a").value = state.selected; });
  $("as-walk-b").addEventListener("click", () => { $("walk-b").value = state.selected; playWalk(); $("walk").scrollIntoView(); });
  for (const id of ["mix-src", "mix-dst"]) $(id).addEventListener("change", updateMix);
  for (const r of document.querySelectorAll("input[name=layers]")) r.addEventListener("change", updateMix);
  $("walk-go").addEventListener("click", playWalk);
  $("project-form").addEventListener("submit", startProjection);
  let ok = false;
  try {
    ok = await loadInfo();
  } catch (e) {
    status(e.message, true);
  }
  if (ok) refreshAll();
  // A run folder: poll it (this also starts the sample views once its first checkpoint loads).
  if (state.info && state.info.live) pollLive();
}

main();
