// nst_tf web page: talks to the JSON API of the same server (see nst_tf/web/app.py).
"use strict";

const $ = (id) => document.getElementById(id);
const HISTORY_KEY = "nst_tf.results";
const RUNNING_KEY = "nst_tf.running";  // the job in progress, picked up again after a reload
const NAMES = { arbitrary: "Instant", optimize: "Paint", print: "Print size", video: "Video" };
const state = { content: null, contentUrl: null, styleFile: null, styleName: null, job: null,
                limits: null, timer: null, lastPreview: -1, sizeTyped: false, last: null,
                paintRate: null, strengthTimer: null };

function method() { return document.querySelector("input[name=method]:checked").value; }

function say(text, bad, show) {
  const m = $("message");
  m.textContent = text || "";
  m.classList.toggle("bad", !!bad);
  m.setAttribute("role", bad ? "alert" : "status");
  if (text && (bad || show)) m.scrollIntoView({ block: "nearest" });  // errors and cancels are seen
}

function roughly(seconds) {
  return seconds < 90 ? `about ${Math.max(1, Math.round(seconds))} s` : `about ${Math.round(seconds / 60)} min`;
}

function formatSeconds(s) {
  if (s === null || s === undefined || !isFinite(s)) return "";
  s = Math.round(s);
  const m = Math.floor(s / 60), r = s % 60;
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${String(r).padStart(2, "0")}`
                 : `${m}:${String(r).padStart(2, "0")}`;
}

function ready() {
  $("go").disabled = !(state.content && (state.styleFile || state.styleName)) || !!state.job;
}

// ------------------------------------------------------------------ inputs

// A file is taken only once the browser has decoded it: a text file named .jpg is refused at once.
function readImage(file) {
  return new Promise((resolve) => {
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.onload = () => resolve({ url, width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => { URL.revokeObjectURL(url); resolve(null); };
    img.src = url;
  });
}

function isVideo(file) {
  return file.type.startsWith("video/") || /\.(mp4|mov|m4v|webm|mkv)$/i.test(file.name);
}

// A video is checked by the server when it is sent (its decoders, not the browser's, paint it).
function takeVideo(file) {
  if ($("message").classList.contains("bad")) say("");
  const label = $("content-drop"), thumb = $("content-thumb");
  thumb.hidden = true; thumb.removeAttribute("src");
  label.classList.add("chosen");
  label.querySelector(".hint").textContent = `${file.name} (video)`;
  state.content = file; state.contentUrl = null; state.contentSize = null; state.last = null;
  document.querySelector("input[name=method][value=video]").checked = true;
  setDefaults();
  ready();
}

async function takeFile(file, which) {
  if (which === "content" && isVideo(file)) return takeVideo(file);
  const read = await readImage(file);
  if (!read) {
    say(`${file.name} is not an image this browser can read; choose a JPEG, PNG or WebP picture.`, true);
    return;
  }
  if ($("message").classList.contains("bad")) say("");
  const label = $(which === "content" ? "content-drop" : "style-drop");
  const thumb = $(which === "content" ? "content-thumb" : "style-thumb");
  thumb.src = read.url; thumb.hidden = false;
  thumb.alt = which === "content" ? `your photo, ${file.name}` : `your painting, ${file.name}`;
  label.classList.add("chosen");
  label.querySelector(".hint").textContent = `${file.name} (${read.width} × ${read.height})`;
  if (which === "content") {
    state.content = file; state.contentUrl = read.url; state.contentSize = [read.width, read.height];
    if (method() === "video") document.querySelector("input[name=method][value=arbitrary]").checked = true;
    setDefaults();
  } else {
    state.styleFile = file; state.styleName = null;
    markGallery(null);
  }
  state.last = null;  // a new input: the strength preview waits for the next Stylise
  ready();
}

function bindDrop(label, input, which) {
  input.addEventListener("change", () => { if (input.files[0]) takeFile(input.files[0], which); });
  label.addEventListener("dragover", (e) => { e.preventDefault(); label.classList.add("over"); });
  label.addEventListener("dragleave", () => label.classList.remove("over"));
  label.addEventListener("drop", (e) => {
    e.preventDefault(); e.stopPropagation(); label.classList.remove("over");
    document.body.classList.remove("dragging");
    const f = e.dataTransfer.files[0];
    if (f) takeFile(f, which);
  });
}

// A file dropped anywhere else on the page is the photo (the browser would otherwise leave the app).
function bindPageDrop() {
  let depth = 0, inside = false;  // inside: a drag that started on this page (a picture), not a file
  document.addEventListener("dragstart", () => { inside = true; });
  document.addEventListener("dragend", () => { inside = false; });
  document.addEventListener("dragenter", () => { depth++; document.body.classList.add("dragging"); });
  document.addEventListener("dragleave", () => { if (--depth <= 0) { depth = 0; document.body.classList.remove("dragging"); } });
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault(); depth = 0; document.body.classList.remove("dragging");
    const f = !inside && e.dataTransfer && e.dataTransfer.files[0];
    inside = false;
    if (f) takeFile(f, "content");
  });
}

function setDefaults() {
  if (!state.limits) return;
  const L = state.limits, m = method();
  const own = m === "print";  // print size: the photo's own size
  $("size").disabled = own;
  document.body.classList.toggle("paint", m === "optimize");
  if (own) { $("size").value = ""; $("size").placeholder = "photo's own"; $("size-hint").textContent = "px: the photo's own size"; return; }
  $("size").max = L.size.max[m];
  $("size").min = L.size.min;
  // empty: the server paints at the photo's own size, up to the default (never enlarged)
  $("size").placeholder = "auto";
  if (!state.sizeTyped) $("size").value = "";
  else if (Number($("size").value) > L.size.max[m]) $("size").value = L.size.max[m];
  $("size-hint").textContent = `px, longer side (auto: the photo's own, at most ${L.size.default[m]}; up to ${L.size.max[m]})`;
  showEstimate();
}

function showEstimate() {
  const el = $("paint-estimate");
  if (!state.paintRate || !state.limits) { el.textContent = "the time is shown once the network is ready"; return; }
  const L = state.limits;
  const side = Number($("size").value) || Math.min(L.size.default.optimize,
    state.contentSize ? Math.max(...state.contentSize) : L.size.default.optimize);
  const [w, h] = state.contentSize || [side, side];
  const mp = (side * side * Math.min(w, h) / Math.max(w, h)) / 1e6;
  const steps = Number($("steps").value) || L.steps.default;
  el.textContent = `${roughly(state.paintRate * mp * steps + 2)} at this size`;
}

async function loadGallery() {
  const styles = await (await fetch("/api/styles")).json();
  for (const s of styles) {
    const b = document.createElement("button");
    b.type = "button"; b.dataset.name = s.name; b.setAttribute("role", "radio");
    b.setAttribute("aria-checked", "false"); b.tabIndex = -1;
    b.title = `${s.title}, ${s.artist} (${s.year})`;
    b.innerHTML = `<img alt="" src="${s.image}"><span>${s.title}</span>`;
    b.setAttribute("aria-label", `${s.title}, ${s.artist}`);
    b.addEventListener("click", () => pickGallery(s.name));
    b.addEventListener("keydown", galleryKeys);
    $("gallery").appendChild(b);
  }
}

// A radio group: one tab stop, arrow keys move the choice (as screen readers announce it).
function galleryKeys(e) {
  const buttons = [...$("gallery").children];
  const i = buttons.indexOf(e.currentTarget);
  const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
  let next = null;
  if (step) next = buttons[(i + step + buttons.length) % buttons.length];
  if (e.key === "Home") next = buttons[0];
  if (e.key === "End") next = buttons[buttons.length - 1];
  if (!next) return;
  e.preventDefault();
  pickGallery(next.dataset.name);
  next.focus();
}

function markGallery(name) {
  const buttons = [...$("gallery").children];
  for (const b of buttons) {
    b.setAttribute("aria-checked", String(b.dataset.name === name));
    b.tabIndex = b.dataset.name === name ? 0 : -1;
  }
  if (!name && buttons.length) buttons[0].tabIndex = 0;
}

function pickGallery(name) {
  state.styleName = name; state.styleFile = null; state.last = null;
  markGallery(name);
  $("style-thumb").hidden = true; $("style-drop").classList.remove("chosen");
  $("style-drop").querySelector(".hint").textContent = "…or drop your own painting";
  ready();
}

// ------------------------------------------------------------------ jobs

function styleLabel() {
  if (state.styleFile) return state.styleFile.name;
  const b = $("gallery").querySelector(`[data-name="${state.styleName}"]`);
  return b ? b.querySelector("span").textContent : state.styleName;
}

async function submit(quiet) {
  if (!quiet) say("");
  const form = new FormData();
  form.append("content", state.content);
  if (state.styleFile) form.append("style", state.styleFile); else form.append("style_name", state.styleName);
  const m = method();
  form.append("method", m);
  for (const id of ["size", "strength", "preserve_colors"]) form.append(id, $(id).value);
  if (m === "optimize") for (const id of ["steps", "style_weight"]) form.append(id, $(id).value);
  let resp;
  try {
    resp = await fetch("/api/jobs", { method: "POST", body: form });
  } catch (e) {
    return say("The server could not be reached; is nst-web still running?", true);
  }
  const body = await resp.json().catch(() => ({ error: `HTTP ${resp.status}` }));
  if (resp.status !== 202) return say(body.error || `HTTP ${resp.status}`, true);
  state.job = { id: body.id, method: m, style: styleLabel(), quiet: !!quiet, before: state.contentUrl };
  try { localStorage.setItem(RUNNING_KEY, JSON.stringify(state.job)); } catch (e) { /* private mode */ }
  showRunning(state.job);
  poll();
}

function showRunning(job) {
  state.lastPreview = -1;
  $("empty").hidden = true; $("progress").hidden = job.quiet; $("download").hidden = true;
  $("another").hidden = true; $("result-info").textContent = "";
  $("after-video").hidden = true; $("after-video").removeAttribute("src");
  if (job.before) $("before").src = job.before;
  $("compare").classList.toggle("single", !job.before);
  if (!job.quiet) { $("compare").hidden = true; $("compare").classList.add("running"); }
  $("tag-after").textContent = "after";
  $("bar-fill").style.width = "0%"; $("bar").setAttribute("aria-valuenow", "0");
  ready();
  if (!job.quiet) $("progress").scrollIntoView({ block: "nearest" });
}

async function poll() {
  const job = state.job;
  if (!job) return;
  let s;
  try {
    const r = await fetch(`/api/jobs/${job.id}`);
    if (r.status === 404) { say("That job is no longer on the server."); return finish(); }
    s = await r.json();
  } catch (e) {
    say("Lost contact with the server.", true);
    return finish(true);
  }
  if (s.error && !s.state) { say(s.error, true); return finish(); }
  const pct = Math.round(100 * s.progress);
  $("bar-fill").style.width = `${pct}%`; $("bar").setAttribute("aria-valuenow", String(pct));
  let text = s.stage;
  if (s.state === "queued") text = `waiting in the queue (position ${s.queue_position})`;
  else if ((s.method === "optimize" || s.method === "video") && s.step > 0) {
    text = `${s.method === "video" ? "frame" : "step"} ${s.step} / ${s.steps}`;
    if (s.eta_s !== null) text += ` · about ${formatSeconds(s.eta_s)} left`;
  }
  $("progress-text").textContent = text;
  if (s.has_preview && s.preview_step !== state.lastPreview && s.state === "running") {
    state.lastPreview = s.preview_step;
    $("after").src = `/api/jobs/${job.id}/preview?step=${s.preview_step}`;
    $("compare").hidden = false;
  }
  if (s.state === "done") return done(job, s);
  if (s.state === "failed") { say(s.error, true); return finish(); }
  if (s.state === "cancelled") {
    if (!$("compare").hidden) {  // the half-painted picture stays, labelled as such
      $("tag-after").textContent = `unfinished (cancelled at step ${s.step})`;
      $("compare").classList.add("running");
    }
    say(`Cancelled${s.step ? ` at step ${s.step} of ${s.steps}` : ""}.`, false, true);
    return finish();
  }
  state.timer = setTimeout(poll, 500);
}

function finish(keepRunning) {
  clearTimeout(state.timer);
  if (state.job && state.job.method === "optimize") refreshInfo().catch(() => {});  // rate, backbone
  state.job = null;
  if (!keepRunning) localStorage.removeItem(RUNNING_KEY);
  $("progress").hidden = true;
  ready();
}

function doneVideo(job, s, url) {
  const v = $("after-video");
  v.src = url; v.hidden = false; $("compare").hidden = true;
  $("download").href = url; $("download").hidden = false;
  $("download").setAttribute("aria-label", `Download the video, ${s.width} × ${s.height} px`);
  $("download").textContent = `Download (${s.width} × ${s.height} MP4)`;
  $("another").hidden = false;
  $("result-info").textContent = `${s.steps} frames, ${s.width} × ${s.height} px in ${formatSeconds(s.elapsed_s)}`;
  if (!job.quiet) { say("Done."); v.scrollIntoView({ block: "nearest" }); }
  finish();
}

function done(job, s) {
  const url = `/api/jobs/${job.id}/result`;
  if (job.method === "video") return doneVideo(job, s, url);
  const after = $("after");
  after.onload = () => {
    after.onload = null;
    if (job.quiet) return;
    remember(job, s, after);
    $("compare").scrollIntoView({ block: "nearest" });  // on a phone the result is below the controls
  };
  after.src = url;
  $("compare").hidden = false; $("compare").classList.remove("running");
  $("compare").classList.toggle("single", !job.before);
  $("split").value = 50; split();
  $("download").href = url; $("download").hidden = false;
  $("download").setAttribute("aria-label", `Download the ${NAMES[job.method]} result, ${s.width} × ${s.height} px`);
  $("download").textContent = `Download (${s.width} × ${s.height} PNG)`;
  $("another").hidden = false;
  const took = s.elapsed_s === null ? "" : s.elapsed_s < 60 ? ` in ${s.elapsed_s.toFixed(1)} s` : ` in ${formatSeconds(s.elapsed_s)}`;
  $("result-info").textContent = `${s.width} × ${s.height} px${took}`;
  if (job.method === "arbitrary") state.last = { strength: $("strength").value };
  if (!job.quiet) say("Done.");
  finish();
}

async function cancel() {
  if (!state.job) return;
  await fetch(`/api/jobs/${state.job.id}`, { method: "DELETE" });
}

// Instant's strength: a new result as the slider moves (the style is cached: a fraction of a second).
function strengthMoved() {
  $("strength-value").textContent = Number($("strength").value).toFixed(2);
  if (!state.last || method() !== "arbitrary" || state.job) return;
  clearTimeout(state.strengthTimer);
  state.strengthTimer = setTimeout(() => { if (!state.job) submit(true); }, 250);
}

// Show the picture as large as the panel allows (small results are scaled up for viewing only).
function fitCompare() {
  const img = $("after");
  if (!img.naturalWidth) return;
  const room = Math.max(120, $("compare").parentElement.clientWidth - 32);
  const scale = Math.min(room / img.naturalWidth, 0.7 * window.innerHeight / img.naturalHeight);
  img.style.width = `${Math.round(img.naturalWidth * scale)}px`;
  img.style.height = `${Math.round(img.naturalHeight * scale)}px`;
}

function split() {
  $("before").style.clipPath = `inset(0 ${100 - $("split").value}% 0 0)`;
}

// The comparison follows a finger or the mouse anywhere on the picture, not only the thin slider.
function bindCompareDrag() {
  const box = $("compare");
  let dragging = false;
  const move = (e) => {
    const r = box.getBoundingClientRect();
    $("split").value = Math.round(100 * Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)));
    split();
  };
  box.addEventListener("pointerdown", (e) => {
    if (box.classList.contains("running") || box.classList.contains("single")) return;
    e.preventDefault();  // no native drag of the picture (it would be dropped on the page as a new photo)
    dragging = true; box.setPointerCapture(e.pointerId); move(e);
  });
  box.addEventListener("pointermove", (e) => { if (dragging) move(e); });
  box.addEventListener("pointerup", () => { dragging = false; });
  box.addEventListener("pointercancel", () => { dragging = false; });
}

// ------------------------------------------------------------------ history (this browser)

function loadHistory() {
  try { return JSON.parse(localStorage.getItem(HISTORY_KEY)) || []; } catch (e) { return []; }
}

function remember(job, s, img) {
  const c = document.createElement("canvas");
  const scale = 260 / Math.max(img.naturalWidth, img.naturalHeight);
  c.width = Math.round(img.naturalWidth * scale); c.height = Math.round(img.naturalHeight * scale);
  c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
  const items = loadHistory().filter((h) => h.id !== job.id);
  items.unshift({ id: job.id, method: job.method, style: job.style, when: Date.now(),
                  size: `${s.width}×${s.height}`, thumb: c.toDataURL("image/jpeg", 0.8) });
  try { localStorage.setItem(HISTORY_KEY, JSON.stringify(items.slice(0, 30))); } catch (e) { /* full */ }
  renderHistory();
}

function openHistory(h) {
  if (state.job) return;
  const s = { width: Number(h.size.split("×")[0]), height: Number(h.size.split("×")[1]), elapsed_s: null };
  done({ id: h.id, method: h.method, style: h.style, quiet: true, before: null }, s);
  $("result-info").textContent = `${NAMES[h.method] || "Instant"} · ${h.style || ""} · ${h.size}`;
  say("");
  $("compare").scrollIntoView({ block: "nearest" });
}

async function renderHistory() {
  const items = loadHistory();
  const ul = $("history");
  ul.innerHTML = "";
  $("clear-history").hidden = items.length === 0;
  if (!items.length) { ul.innerHTML = "<li>Nothing yet.</li>"; return; }
  for (const h of items) {
    const li = document.createElement("li");
    const when = new Date(h.when).toLocaleString();
    const name = `${NAMES[h.method] || "Instant"} · ${h.style || ""}`;
    const open = document.createElement("button");
    open.type = "button"; open.className = "open";
    open.setAttribute("aria-label", `View ${name}, ${h.size}, ${when}`);
    open.innerHTML = `<img alt="" src="${h.thumb}">`;
    open.addEventListener("click", () => openHistory(h));
    li.appendChild(open);
    li.insertAdjacentHTML("beforeend", `${name}<br>${h.size} · ${when}<br>`);
    const a = document.createElement("a");
    a.href = `/api/jobs/${h.id}/result`; a.download = ""; a.textContent = "download";
    a.setAttribute("aria-label", `Download ${name}, ${h.size}`);
    li.appendChild(a);
    ul.appendChild(li);
    fetch(`/api/jobs/${h.id}`).then((r) => {
      if (r.status === 404) {
        li.classList.add("expired");
        a.removeAttribute("href"); open.disabled = true;
        li.insertAdjacentHTML("beforeend", "<br>(gone from the server)");
      }
    }).catch(() => {});
  }
}

// ------------------------------------------------------------------ start

async function refreshInfo() {
  const info = await (await fetch("/api/info")).json();
  state.limits = info.limits;
  state.paintRate = info.models.paint_seconds_per_step_per_megapixel;
  if (/hed/i.test(info.models.paint || "")) {
    $("backbone-note").textContent = "Paint runs on the offline HED VGG16 network here (ImageNet VGG19 weights were not found).";
  }
  showEstimate();
  return info;
}

function resumeAfterReload() {
  let job = null;
  try { job = JSON.parse(localStorage.getItem(RUNNING_KEY)); } catch (e) { /* none */ }
  if (!job || !job.id) return;
  job.before = null; job.quiet = false;  // the photo's object URL did not survive the reload
  state.job = job;
  showRunning(job);
  say("Picking up the job that was running…");
  poll();
}

async function start() {
  bindDrop($("content-drop"), $("content-file"), "content");
  bindDrop($("style-drop"), $("style-file"), "style");
  bindPageDrop();
  bindCompareDrag();
  for (const r of document.querySelectorAll("input[name=method]")) {
    r.addEventListener("change", () => { setDefaults(); if (method() === "optimize" && !state.paintRate) refreshInfo().catch(() => {}); });
  }
  $("size").addEventListener("input", () => { state.sizeTyped = $("size").value !== ""; showEstimate(); });
  $("steps").addEventListener("input", showEstimate);
  $("strength").addEventListener("input", strengthMoved);
  $("go").addEventListener("click", () => submit(false));
  $("cancel").addEventListener("click", cancel);
  $("another").addEventListener("click", () => {
    $("gallery").scrollIntoView({ block: "nearest" });
    ($("gallery").querySelector("[tabindex='0']") || $("gallery").firstElementChild).focus();
  });
  $("split").addEventListener("input", split);
  $("after").addEventListener("load", fitCompare);
  window.addEventListener("resize", fitCompare);
  $("clear-history").addEventListener("click", () => { localStorage.removeItem(HISTORY_KEY); renderHistory(); });
  try {
    const info = await refreshInfo();
    $("steps").value = info.limits.steps.default; $("steps").max = info.limits.steps.max;
    $("style_weight").value = info.limits.style_weight.default;
    $("video-seconds").textContent = info.limits.video_seconds.max;
    setDefaults();
    await loadGallery();
    pickGallery($("gallery").children[0].dataset.name);
  } catch (e) {
    say("The server did not answer; reload the page once nst-web is running.", true);
  }
  renderHistory();
  resumeAfterReload();
}

start();
