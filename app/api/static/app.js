// audiotag's page: plain JavaScript against /api/v1, no build step.
"use strict";
const API = "/api/v1";
const $ = (id) => document.getElementById(id);
const FIELDS = ["q", "mode", "license", "tag", "min_duration", "max_duration"]; // a search, as in its URL
const PER_PAGE = 10;
let shown = { state: {}, page: 1 }; // the search on screen
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

const input = (field) => $(field === "q" ? "query" : field);

function formState() {
  const state = {};
  for (const field of FIELDS) {
    const value = input(field).value.trim();
    if (value && !(field === "mode" && value === "hybrid")) state[field] = value;
  }
  return state;
}

function fillForm(state) {
  for (const field of FIELDS) input(field).value = state[field] || (field === "mode" ? "hybrid" : "");
}

function urlState() {
  const params = new URLSearchParams(location.search);
  const state = {};
  for (const field of FIELDS) if (params.get(field)) state[field] = params.get(field);
  return { state, page: Math.max(1, parseInt(params.get("page") || "1", 10) || 1) };
}

function pageUrl(state, page) {
  const params = new URLSearchParams(state);
  if (page > 1) params.set("page", page);
  const query = params.toString();
  return query ? `?${query}` : location.pathname;
}

function tagButton(tag) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "tag";
  b.textContent = tag;
  b.addEventListener("click", () => { $("query").value = tag; search(formState(), 1, "push"); });
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
  small.textContent = `${sound.duration.toFixed(1)} s · ${sound.license || "licence unknown"} · relevance ${sound.relevance}`;
  small.title = `score ${sound.score}`;
  meta.append(name, small);
  if (sound.match) meta.append(howMatched(sound.match));
  const tags = document.createElement("div");
  tags.className = "tags";
  sound.tags.forEach((t) => tags.append(tagButton(t)));
  const picture = document.createElement("img");
  picture.className = "spectrogram";
  picture.loading = "lazy";
  picture.alt = `spectrogram of ${sound.name}`;
  picture.src = `${API}/sounds/${sound.id}/spectrogram.png`;
  const audio = document.createElement("audio");
  audio.controls = true;
  audio.preload = "none";
  audio.src = sound.audio_url;
  const toggle = () => (audio.paused ? audio.play() : audio.pause());
  picture.addEventListener("click", toggle);
  li.tabIndex = 0; // Tab reaches each sound; Space plays or pauses it
  li.addEventListener("keydown", (e) => {
    if (e.key === " " && e.target === li) { e.preventDefault(); toggle(); }
  });
  li.dataset.id = sound.id;
  const offer = document.createElement("button");
  offer.type = "button";
  offer.className = "link suggest";
  offer.textContent = "suggest tags";
  const chips = document.createElement("div");
  chips.className = "chips";
  offer.addEventListener("click", () => offerTags(sound, tags, chips));
  li.append(meta, tags, picture, audio, offer, chips);
  return li;
}

async function offerTags(sound, tagsBox, chips) {
  // Suggestions for a catalogue sound as chips to confirm (✓) or reject (✕).
  chips.textContent = "…";
  try {
    const body = await call(`/sounds/${sound.id}/tags?k=6`);
    chips.replaceChildren(...body.tags.map((t) => verdictChip(sound, t.tag, tagsBox, chips)));
    if (!body.tags.length) chips.textContent = "nothing more to suggest";
  } catch (err) {
    chips.textContent = err.message;
  }
}

function verdictChip(sound, tag, tagsBox, chips) {
  const chip = document.createElement("span");
  chip.className = "chip";
  chip.dataset.tag = tag;
  chip.append(tag);
  for (const [kind, mark, what] of [["confirm", "✓", "confirm"], ["reject", "✕", "reject"]]) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = kind;
    b.textContent = mark;
    b.setAttribute("aria-label", `${what} ${tag}`);
    b.addEventListener("click", () => giveVerdict(sound, tag, kind, chip, tagsBox, chips));
    chip.append(b);
  }
  return chip;
}

async function giveVerdict(sound, tag, kind, chip, tagsBox, chips) {
  const token = $("token").value.trim();
  if (!token) {
    $("write").open = true;
    $("token").focus();
    note("search-note", "enter the write token to confirm or reject tags", true);
    return;
  }
  try {
    const body = await call(`/sounds/${sound.id}/tags`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ [kind]: [tag] }),
    });
    tagsBox.replaceChildren(...body.tags.map(tagButton));
    chip.remove();
    sessionStorage.setItem("audiotag-token", token);
  } catch (err) {
    note("search-note", `${sound.name}: ${err.message}`, true);
  }
}

function howMatched(match) {
  const why = document.createElement("span");
  why.className = "small why";
  const words = match.words.length ? `matched ${match.words.join(", ")} · ` : "";
  why.textContent = `${words}${Math.round(match.text * 100)} % words, ${Math.round(match.sound * 100)} % sound`;
  return why;
}

async function search(state, page, history_ = "push") {
  // Show one page of a search; "push" adds it to the history, "none" shows what the URL says.
  if (!state.q) return;
  if (history_ === "push") history.pushState(null, "", pageUrl(state, page));
  shown = { state, page };
  const params = new URLSearchParams({ ...state, k: PER_PAGE, page });
  $("search-button").disabled = true;
  try {
    const body = await call(`/search?${params}`);
    $("results").replaceChildren(...body.results.map(soundItem));
    $("results").start = (page - 1) * PER_PAGE + 1;
    const unknown = body.query.unknown.length ? ` — not known, left out: ${body.query.unknown.join(", ")}` : "";
    const words = `“${body.query.words.join(" ")}”`;
    const found = body.results.length
      ? `${body.results.length} sounds for ${words}, page ${page}`
      : (page > 1 ? `no more sounds for ${words}` : `no sound matches ${words}: try other words or fewer filters`);
    note("search-note", `${found}${unknown}`);
    $("pager").hidden = page === 1 && body.results.length < PER_PAGE;
    $("prev").disabled = page === 1;
    $("next").disabled = body.results.length < PER_PAGE;
    $("page-label").textContent = `page ${page}`;
  } catch (err) {
    $("results").replaceChildren();
    note("search-note", err.message, true);
    $("pager").hidden = true;
  } finally {
    $("search-button").disabled = false;
  }
}

function showUrl() {
  const { state, page } = urlState();
  fillForm(state);
  if (state.q) search(state, page, "none");
  else { $("results").replaceChildren(); $("pager").hidden = true; note("search-note", ""); }
}

function spectrogramOf(file) {
  const form = new FormData();
  form.append("file", file);
  fetch(`${API}/spectrogram.png`, { method: "POST", body: form })
    .then((r) => (r.ok ? r.blob() : null))
    .then((blob) => {
      if (!blob) { $("clip-spectrogram").hidden = true; return; }
      $("clip-spectrogram").src = URL.createObjectURL(blob);
      $("clip-spectrogram").hidden = false;
    }, () => { $("clip-spectrogram").hidden = true; });
}

async function upload(file) {
  clip = file;
  note("upload-note", `analysing ${file.name}…`);
  $("suggested").replaceChildren();
  $("similar").replaceChildren();
  $("scores").replaceChildren();
  spectrogramOf(file);
  $("add-form").hidden = true;
  note("add-note", "");
  const form = () => { const f = new FormData(); f.append("file", file); return f; };
  try {
    const [tags, similar] = await Promise.all([
      call("/tags?k=10", { method: "POST", body: form() }),
      call("/similar?k=5", { method: "POST", body: form() }),
    ]);
    tags.tags.forEach((t) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "tag choice";
      b.textContent = t.tag;
      b.setAttribute("aria-pressed", "false"); // chosen tags go with the clip into the catalogue
      b.title = `score ${t.score.toFixed(3)}, from ${t.source === "model" ? "the model" : "similar sounds"}`;
      b.addEventListener("click", () => b.setAttribute("aria-pressed", String(b.getAttribute("aria-pressed") !== "true")));
      li.append(b);
      $("suggested").append(li);
    });
    $("add-form").hidden = false;
    $("add-name").value = file.name.replace(/\.[^.]+$/, "");
    note("add-note", "choose the tags that fit, then add the clip");
    similar.results.forEach((s) => $("similar").append(soundItem(s)));
    note("upload-note", `${file.name}: ${tags.tags.length} tags suggested`);
  } catch (err) {
    note("upload-note", `${file.name}: ${err.message}`, true);
  }
}

async function addClip() {
  const chosen = [...document.querySelectorAll("#suggested .choice[aria-pressed=true]")].map((b) => b.textContent);
  const token = $("token").value.trim();
  if (!chosen.length) { note("add-note", "choose at least one tag", true); return; }
  if (!token) { $("write").open = true; $("token").focus(); note("add-note", "enter the write token first", true); return; }
  const form = new FormData();
  form.append("file", clip);
  form.append("tags", chosen.join(", "));
  form.append("name", $("add-name").value.trim());
  try {
    const body = await call("/sounds", { method: "POST", body: form, headers: { Authorization: `Bearer ${token}` } });
    note("add-note", `added as sound ${body.id} with ${body.tags.join(", ")}; searchable once the index update has run`);
    $("add-form").hidden = true;
    sessionStorage.setItem("audiotag-token", token);
  } catch (err) {
    note("add-note", err.message, true);
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

$("search-form").addEventListener("submit", (e) => { e.preventDefault(); search(formState(), 1, "push"); });
$("prev").addEventListener("click", () => search(shown.state, shown.page - 1, "push"));
$("next").addEventListener("click", () => search(shown.state, shown.page + 1, "push"));
window.addEventListener("popstate", showUrl); // back and forward show the search of that URL
$("classify-form").addEventListener("submit", (e) => { e.preventDefault(); classify(); });
$("add-form").addEventListener("submit", (e) => { e.preventDefault(); addClip(); });
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
$("token").value = sessionStorage.getItem("audiotag-token") || "";
showUrl(); // a pasted or reloaded link shows its search
