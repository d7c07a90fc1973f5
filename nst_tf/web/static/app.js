// nst_tf web page: talks to the JSON API of the same server (see nst_tf/web/app.py).
"use strict";

const $ = (id) => document.getElementById(id);
const HISTORY_KEY = "nst_tf.results";
const state = { content: null, contentUrl: null, styleFile: null, styleName: null, job: null,
                limits: null, timer: null, lastPreview: -1 };

function method() { return document.querySelector("input[name=method]:checked").value; }

function say(text, bad) {
  $("message").textContent = text || "";
  $("message").classList.toggle("bad", !!bad);
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

function bindDrop(label, input, onFile) {
  input.addEventListener("change", () => { if (input.files[0]) onFile(input.files[0]); });
  label.addEventListener("dragover", (e) => { e.preventDefault(); label.classList.add("over"); });
  label.addEventListener("dragleave", () => label.classList.remove("over"));
  label.addEventListener("drop", (e) => {
    e.preventDefault(); label.classList.remove("over");
    const f = e.dataTransfer.files[0];
    if (f) onFile(f);
  });
}

function showThumb(img, label, file) {
  const url = URL.createObjectURL(file);
  img.src = url; img.hidden = false;
  label.classList.add("chosen");
  label.querySelector(".hint").textContent = file.name;
  return url;
}

function setDefaults() {
  if (!state.limits) return;
  const L = state.limits, m = method();
  const own = m === "print";  // print size: the photo's own size
  $("size").disabled = own;
  if (!own) {
    $("size").max = L.size.max[m];
    $("size").min = L.size.min;
    $("size").value = L.size.default[m];
  } else {
    $("size").value = "";
    $("size").placeholder = "photo's own";
  }
  document.body.classList.toggle("paint", m === "optimize");
}

async function loadGallery() {
  const styles = await (await fetch("/api/styles")).json();
  for (const s of styles) {
    const b = document.createElement("button");
    b.type = "button"; b.dataset.name = s.name; b.setAttribute("role", "radio");
    b.setAttribute("aria-checked", "false");
    b.title = `${s.title}, ${s.artist} (${s.year})`;
    b.innerHTML = `<img alt="${s.title}" src="${s.image}">`;
    b.addEventListener("click", () => pickGallery(s.name));
    $("gallery").appendChild(b);
  }
}

function pickGallery(name) {
  state.styleName = name; state.styleFile = null;
  for (const b of $("gallery").children) b.setAttribute("aria-checked", String(b.dataset.name === name));
  $("style-thumb").hidden = true; $("style-drop").classList.remove("chosen");
  $("style-drop").querySelector(".hint").textContent = "…or drop your own painting";
  ready();
}

// ------------------------------------------------------------------ jobs

async function submit() {
  say("");
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
  state.job = { id: body.id, method: m, style: state.styleName || (state.styleFile && state.styleFile.name) };
  state.lastPreview = -1;
  $("empty").hidden = true; $("progress").hidden = false; $("download").hidden = true;
  $("result-info").textContent = "";
  $("before").src = state.contentUrl;
  $("compare").hidden = true; $("compare").classList.add("running");
  $("bar-fill").style.width = "0%";
  ready();
  poll();
}

async function poll() {
  const job = state.job;
  if (!job) return;
  let s;
  try {
    s = await (await fetch(`/api/jobs/${job.id}`)).json();
  } catch (e) {
    say("Lost contact with the server.", true);
    return finish();
  }
  if (s.error && !s.state) { say(s.error, true); return finish(); }
  $("bar-fill").style.width = `${Math.round(100 * s.progress)}%`;
  let text = s.stage;
  if (s.state === "queued") text = `waiting in the queue (position ${s.queue_position})`;
  else if (s.method === "optimize" && s.step > 0) {
    text = `step ${s.step} / ${s.steps}`;
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
  if (s.state === "cancelled") { say("Cancelled."); return finish(); }
  state.timer = setTimeout(poll, 500);
}

function finish() {
  clearTimeout(state.timer);
  state.job = null;
  $("progress").hidden = true;
  ready();
}

function done(job, s) {
  const url = `/api/jobs/${job.id}/result`;
  const after = $("after");
  after.onload = () => { after.onload = null; remember(job, s, after); };
  after.src = url;
  $("compare").hidden = false; $("compare").classList.remove("running");
  $("split").value = 50; split();
  $("download").href = url; $("download").hidden = false;
  $("result-info").textContent = `${s.width} × ${s.height} px in ${formatSeconds(s.elapsed_s)}`;
  say("Done.");
  finish();
}

async function cancel() {
  if (!state.job) return;
  await fetch(`/api/jobs/${state.job.id}`, { method: "DELETE" });
}

// Show the picture as large as the panel allows (small results are scaled up for viewing only).
function fitCompare() {
  const img = $("after");
  if (!img.naturalWidth) return;
  const room = $("compare").parentElement.clientWidth - 40;
  const scale = Math.min(room / img.naturalWidth, 0.7 * window.innerHeight / img.naturalHeight);
  img.style.width = `${Math.round(img.naturalWidth * scale)}px`;
  img.style.height = `${Math.round(img.naturalHeight * scale)}px`;
}

function split() {
  $("before").style.clipPath = `inset(0 ${100 - $("split").value}% 0 0)`;
}

// ------------------------------------------------------------------ history (this browser only)

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

async function renderHistory() {
  const items = loadHistory();
  const ul = $("history");
  ul.innerHTML = "";
  $("clear-history").hidden = items.length === 0;
  if (!items.length) { ul.innerHTML = "<li>Nothing yet.</li>"; return; }
  for (const h of items) {
    const li = document.createElement("li");
    const when = new Date(h.when).toLocaleString();
    const label = `${{optimize: "Paint", print: "Print size"}[h.method] || "Instant"} · ${h.style || ""}<br>${h.size} · ${when}`;
    li.innerHTML = `<a href="/api/jobs/${h.id}/result" download><img alt="result" src="${h.thumb}"></a>${label}`;
    ul.appendChild(li);
    fetch(`/api/jobs/${h.id}`).then((r) => {
      if (r.status === 404) {
        li.classList.add("expired");
        li.querySelector("a").removeAttribute("href");
        li.insertAdjacentHTML("beforeend", "<br>(gone from the server)");
      }
    }).catch(() => {});
  }
}

// ------------------------------------------------------------------ start

async function start() {
  bindDrop($("content-drop"), $("content-file"), (f) => {
    state.content = f; state.contentUrl = showThumb($("content-thumb"), $("content-drop"), f); ready();
  });
  bindDrop($("style-drop"), $("style-file"), (f) => {
    state.styleFile = f; state.styleName = null;
    for (const b of $("gallery").children) b.setAttribute("aria-checked", "false");
    showThumb($("style-thumb"), $("style-drop"), f); ready();
  });
  for (const r of document.querySelectorAll("input[name=method]")) r.addEventListener("change", setDefaults);
  $("strength").addEventListener("input", () => { $("strength-value").textContent = Number($("strength").value).toFixed(2); });
  $("go").addEventListener("click", submit);
  $("cancel").addEventListener("click", cancel);
  $("split").addEventListener("input", split);
  $("after").addEventListener("load", fitCompare);
  window.addEventListener("resize", fitCompare);
  $("clear-history").addEventListener("click", () => { localStorage.removeItem(HISTORY_KEY); renderHistory(); });
  try {
    const info = await (await fetch("/api/info")).json();
    state.limits = info.limits;
    $("steps").value = info.limits.steps.default; $("steps").max = info.limits.steps.max;
    $("style_weight").value = info.limits.style_weight.default;
    setDefaults();
    await loadGallery();
    pickGallery($("gallery").children[0].dataset.name);
  } catch (e) {
    say("The server did not answer; reload the page once nst-web is running.", true);
  }
  renderHistory();
}

start();
