// The paper's "real vs fake" study: practice trials with feedback, then test and catch trials without.
// URL parameters: participant=ID, display_ms=N (shorter display, for tests), seed=N (a reproducible order).
"use strict";
const $ = (id) => document.getElementById(id);
const study = window.I2I_STUDY;
const params = new URLSearchParams(location.search);
const displayMs = Number(params.get("display_ms")) || study.protocol.display_ms;
const FIELDS = ["study", "task", "participant", "session", "trial", "phase", "image", "model", "real_side",
  "chosen_side", "question", "correct", "labelled_real", "display_ms", "response_ms", "time"];

// mulberry32: a small seeded generator, so ?seed=N reproduces a participant's order.
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = params.has("seed") ? generator(Number(params.get("seed"))) : Math.random;
function shuffle(items) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

// Each image once per participant; models balanced over practice and test trials.
function makeTrials() {
  const p = study.protocol;
  const images = shuffle(study.images.slice());
  const models = study.models.map((m) => m.name);
  const balanced = (count) => shuffle(Array.from({length: count}, (_, i) => models[i % models.length]));
  const practiceModels = balanced(p.practice), testModels = balanced(p.trials);
  const practice = practiceModels.map((model, i) => ({phase: "practice", image: images[i], model}));
  const test = testModels.map((model, i) => ({phase: "test", image: images[p.practice + i], model}));
  const catches = Array.from({length: p.catch}, (_, i) =>
    ({phase: "catch", image: images[p.practice + p.trials + i], model: "catch"}));
  return [...practice, ...shuffle([...test, ...catches])].map((t) => ({...t, realSide: random() < 0.5 ? "left" : "right"}));
}

const session = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
const trials = makeTrials();
const responses = [];
let index = 0, shownAt = 0;
const otherSide = (side) => (side === "left" ? "right" : "left");
const show = (id, visible) => $(id).classList.toggle("hidden", !visible);

function load(img, src) {
  return new Promise((resolve, reject) => {
    img.onload = resolve;
    img.onerror = () => reject(new Error(`cannot load ${src}`));
    img.src = src;
  });
}

async function startTrial() {
  const t = trials[index];
  const practice = t.phase === "practice";
  const practiceCount = study.protocol.practice;
  $("progress").textContent = practice ? `Practice ${index + 1} of ${practiceCount}`
    : `Trial ${index + 1 - practiceCount} of ${trials.length - practiceCount}`;
  $("feedback").textContent = "";
  ["prompt", "choices", "next"].forEach((id) => show(id, false));
  const fake = `images/${t.model}/${t.image}.png`, real = `images/real/${t.image}.png`;
  const [left, right] = t.realSide === "left" ? [real, fake] : [fake, real];
  document.body.dataset.state = "loading";
  await Promise.all([load($("left"), left), load($("right"), right)]);
  $("left").style.visibility = $("right").style.visibility = "visible";
  document.body.dataset.state = "showing";
  setTimeout(() => {
    $("left").style.visibility = $("right").style.visibility = "hidden";
    show("prompt", true);
    show("choices", true);
    shownAt = performance.now();
    document.body.dataset.state = "choosing";
  }, displayMs);
}

function choose(side) {
  if (document.body.dataset.state !== "choosing") return;
  const t = trials[index];
  const judgedReal = study.protocol.question === "fake" ? otherSide(side) : side;
  const correct = judgedReal === t.realSide;
  responses.push({
    study: study.id, task: study.task, participant: $("participant").value || params.get("participant") || "",
    session, trial: index + 1, phase: t.phase, image: t.image, model: t.model, real_side: t.realSide,
    chosen_side: side, question: study.protocol.question, correct, labelled_real: !correct,
    display_ms: displayMs, response_ms: Math.round(performance.now() - shownAt), time: new Date().toISOString(),
  });
  show("choices", false);
  if (t.phase === "practice") {
    $("feedback").textContent = correct ? "Correct!" : "Wrong: the real image was on the " + t.realSide + ".";
    show("next", true);
    document.body.dataset.state = "feedback";
  } else {
    advance();
  }
}

function advance() {
  index += 1;
  if (index < trials.length) startTrial(); else finish();
}

function csv() {
  const quote = (value) => { const s = String(value); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return [FIELDS.join(","), ...responses.map((r) => FIELDS.map((f) => quote(r[f])).join(","))].join("\n") + "\n";
}

function download(text, type, extension) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], {type}));
  link.download = `responses-${session}.${extension}`;
  document.body.appendChild(link);
  link.click();
  link.remove();
}

async function finish() {
  show("trial", false);
  show("done", true);
  window.studyResponses = responses;
  if (!location.protocol.startsWith("http")) {
    $("saved").textContent = "Please download your responses and send them to the study's organiser.";
    document.body.dataset.state = "done";
    return;
  }
  try {
    const reply = await fetch("responses", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({responses})});
    if (!reply.ok) throw new Error((await reply.json().catch(() => ({}))).error || reply.statusText);
    $("saved").textContent = "Your responses are saved.";
    document.body.dataset.state = "saved";
  } catch (error) {
    $("saved").textContent = `Saving failed (${error.message}): please download your responses and send them.`;
    document.body.dataset.state = "done";
  }
}

const seconds = (displayMs / 1000).toLocaleString();
$("instructions").textContent = `Each trial shows two images for ${seconds} s: one real photograph and one made by a ` +
  `computer. Then pick the ${study.protocol.question === "fake" ? "fake" : "real"} one. The first ` +
  `${study.protocol.practice} trials are practice and tell you whether you were right; the next ` +
  `${trials.length - study.protocol.practice} do not.`;
$("prompt").textContent = `Which image was ${study.protocol.question === "fake" ? "fake" : "real"}?`;
$("participant").value = params.get("participant") || "";
$("start").addEventListener("click", () => { show("intro", false); show("trial", true); startTrial(); });
$("choose-left").addEventListener("click", () => choose("left"));
$("choose-right").addEventListener("click", () => choose("right"));
$("next").addEventListener("click", advance);
document.addEventListener("keydown", (event) => {
  if (event.key === "ArrowLeft") choose("left");
  if (event.key === "ArrowRight") choose("right");
});
$("download-csv").addEventListener("click", () => download(csv(), "text/csv", "csv"));
$("download-json").addEventListener("click", () => download(JSON.stringify({responses}, null, 1), "application/json", "json"));
document.body.dataset.state = "intro";
