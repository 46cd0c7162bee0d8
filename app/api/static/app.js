// audiotag's page: plain JavaScript against /api/v1, no build step.
"use strict";
const API = "/api/v1";
const $ = (id) => document.getElementById(id);
let page = 1;
let lastQuery = null;
let clip = null; // the File being tagged

async function call(path, options = {}) {
  const response = await fetch(API + path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = body.error ? body.error.message : response.statusText;
    throw new Error(message);
  }
  return body;
}

function note(id, text, isError = false) {
  $(id).textContent = text;
  $(id).classList.toggle("error", isError);
}

function tagButton(tag) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "tag";
  b.textContent = tag;
  b.addEventListener("click", () => { $("query").value = tag; search(true); });
  return b;
}

function soundItem(sound) {
  const li = document.createElement("li");
  li.className = "sound";
  const meta = document.createElement("div");
  meta.className = "meta";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = sound.name;
  const small = document.createElement("span");
  small.className = "small";
  small.textContent = `${sound.duration.toFixed(1)} s · ${sound.license || "licence unknown"} · score ${sound.score.toFixed(3)}`;
  meta.append(name, small);
  if (sound.match) meta.append(howMatched(sound.match));
  const tags = document.createElement("div");
  tags.className = "tags";
  sound.tags.forEach((t) => tags.append(tagButton(t)));
  const audio = document.createElement("audio");
  audio.controls = true;
  audio.preload = "none";
  audio.src = sound.audio_url;
  li.append(meta, tags, audio);
  return li;
}

function howMatched(match) {
  const why = document.createElement("span");
  why.className = "small why";
  const words = match.words.length ? `matched ${match.words.join(", ")} · ` : "";
  why.textContent = `${words}${Math.round(match.text * 100)} % words, ${Math.round(match.sound * 100)} % sound`;
  return why;
}

async function search(fresh) {
  const q = $("query").value.trim();
  if (!q) return;
  if (fresh) { page = 1; $("results").replaceChildren(); }
  const params = new URLSearchParams({ q, k: 10, page, mode: $("mode").value });
  const licence = $("license").value.trim();
  if (licence) params.set("license", licence);
  $("search-button").disabled = true;
  try {
    const body = await call(`/search?${params}`);
    lastQuery = q;
    body.results.forEach((s) => $("results").append(soundItem(s)));
    const unknown = body.query.unknown.length ? ` — not known, left out: ${body.query.unknown.join(", ")}` : "";
    note("search-note", `${$("results").children.length} sounds for “${body.query.words.join(" ")}”${unknown}`);
    $("more").hidden = body.results.length < 10;
  } catch (err) {
    note("search-note", err.message, true);
    $("more").hidden = true;
  } finally {
    $("search-button").disabled = false;
  }
}

async function upload(file) {
  clip = file;
  note("upload-note", `analysing ${file.name}…`);
  $("suggested").replaceChildren();
  $("similar").replaceChildren();
  $("scores").replaceChildren();
  const form = () => { const f = new FormData(); f.append("file", file); return f; };
  try {
    const [tags, similar] = await Promise.all([
      call("/tags?k=10", { method: "POST", body: form() }),
      call("/similar?k=5", { method: "POST", body: form() }),
    ]);
    tags.tags.forEach((t) => {
      const li = document.createElement("li");
      const b = tagButton(t.tag);
      b.title = `score ${t.score.toFixed(3)}, from ${t.source === "model" ? "the model" : "similar sounds"}`;
      li.append(b);
      $("suggested").append(li);
    });
    similar.results.forEach((s) => $("similar").append(soundItem(s)));
    note("upload-note", `${file.name}: ${tags.tags.length} tags suggested`);
  } catch (err) {
    note("upload-note", `${file.name}: ${err.message}`, true);
  }
}

async function classify() {
  if (!clip) { note("upload-note", "choose a clip first", true); return; }
  const form = new FormData();
  form.append("file", clip);
  form.append("labels", $("labels").value);
  $("scores").replaceChildren();
  try {
    const body = await call("/classify", { method: "POST", body: form });
    body.labels.forEach((l) => {
      const li = document.createElement("li");
      const label = document.createElement("span");
      label.textContent = l.label;
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = `${Math.max(2, 100 * l.score)}%`;
      const value = document.createElement("span");
      value.textContent = `${(100 * l.score).toFixed(0)} %`;
      li.append(label, bar, value);
      $("scores").append(li);
    });
    if (body.unscored.length) note("upload-note", `no known word in: ${body.unscored.join(", ")}`);
  } catch (err) {
    note("upload-note", err.message, true);
  }
}

$("search-form").addEventListener("submit", (e) => { e.preventDefault(); search(true); });
$("more").addEventListener("click", () => { page += 1; search(false); });
$("classify-form").addEventListener("submit", (e) => { e.preventDefault(); classify(); });
$("file").addEventListener("change", () => { if ($("file").files[0]) upload($("file").files[0]); });
const drop = $("drop");
["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
drop.addEventListener("drop", (e) => { if (e.dataTransfer.files[0]) upload(e.dataTransfer.files[0]); });
$("query").addEventListener("input", async () => {
  const word = $("query").value.split(/[\s,]+/).pop();
  if (!word) return;
  try {
    const words = await call(`/tags?prefix=${encodeURIComponent(word)}&limit=8`);
    $("tag-list").replaceChildren(...words.map((w) => Object.assign(document.createElement("option"), { value: w })));
  } catch (err) { /* autocomplete is a nicety */ }
});

call("/ready").then(
  (r) => { $("status").textContent = `${r.sounds} sounds · model ${r.model_version}`; },
  (err) => { $("status").textContent = `not ready: ${err.message}`; $("status").classList.add("bad"); },
);
