// i2i serve: draw or upload, translate through POST /api/translate, show and download the output.
"use strict";
const $ = (id) => document.getElementById(id);
const canvas = $("input-canvas");
const ctx = canvas.getContext("2d");
let models = [];
let background = "#ffffff";
let penColor = "#000000";
let last = null;

function status(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function currentModel() {
  return models.find((m) => m.name === $("model").value) || models[0];
}

// Show an image scaled to fill the 320-pixel view (pixelated), whatever its own size.
function fitView(element, width, height) {
  const scale = 320 / Math.max(width, height);
  element.style.width = `${Math.round(width * scale)}px`;
  element.style.height = `${Math.round(height * scale)}px`;
}

function newCanvas(width, height) {
  canvas.width = width;
  canvas.height = height;
  fitView(canvas, width, height);
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, width, height);
  $("width").value = width;
  $("height").value = height;
}

function choosePen(color) {
  penColor = color;
  $("color").value = color;
  for (const swatch of document.querySelectorAll(".swatch")) {
    swatch.classList.toggle("active", swatch.dataset.color === color);
  }
  $("tool-pen").checked = true;
}

function setupModel() {
  const model = currentModel();
  const palette = model.palette || [];
  background = palette.length ? palette[0].color : "#ffffff";
  $("task").textContent = model.task ? `task: ${model.task}` : "";
  $("palette").replaceChildren(...palette.map((label) => {
    const swatch = document.createElement("button");
    swatch.className = "swatch";
    swatch.style.background = label.color;
    swatch.title = label.name;
    swatch.dataset.color = label.color;
    swatch.addEventListener("click", () => choosePen(label.color));
    return swatch;
  }));
  newCanvas(model.crop_size, model.crop_size);
  choosePen(palette.length > 1 ? palette[1].color : "#000000");
}

// Square stamps along the stroke: no anti-aliasing, so label colours stay exact.
function stamp(x, y) {
  const size = Number($("brush").value);
  ctx.fillStyle = $("tool-eraser").checked ? background : penColor;
  ctx.fillRect(Math.round(x - size / 2), Math.round(y - size / 2), size, size);
}

function canvasPoint(event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
}

function strokeTo(point) {
  const [x, y] = point;
  const [x0, y0] = last || point;
  const steps = Math.max(1, Math.ceil(Math.hypot(x - x0, y - y0)));
  for (let i = 1; i <= steps; i++) stamp(x0 + (x - x0) * i / steps, y0 + (y - y0) * i / steps);
  last = point;
}

canvas.addEventListener("pointerdown", (event) => {
  canvas.setPointerCapture(event.pointerId);
  last = null;
  strokeTo(canvasPoint(event));
});
canvas.addEventListener("pointermove", (event) => { if (last) strokeTo(canvasPoint(event)); });
for (const name of ["pointerup", "pointercancel"]) canvas.addEventListener(name, () => { last = null; });

$("color").addEventListener("input", (event) => choosePen(event.target.value));
$("model").addEventListener("change", setupModel);
$("clear").addEventListener("click", () => {
  const width = Number($("width").value), height = Number($("height").value);
  if (width > 0 && height > 0) newCanvas(width, height); else status("width and height must be positive", true);
});
$("upload").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (!file) return;
  const image = new Image();
  image.onload = () => {
    newCanvas(image.naturalWidth, image.naturalHeight);
    ctx.drawImage(image, 0, 0);
    URL.revokeObjectURL(image.src);
    status(`${file.name}: ${image.naturalWidth}x${image.naturalHeight}`);
  };
  image.onerror = () => status(`cannot read ${file.name} as an image`, true);
  image.src = URL.createObjectURL(file);
});

async function translate() {
  const params = new URLSearchParams({model: currentModel().name});
  if ($("mode").value) params.set("mode", $("mode").value);
  if ($("seed").value !== "") params.set("seed", $("seed").value);
  document.body.dataset.state = "translating";
  status("translating...");
  const started = performance.now();
  try {
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    const reply = await fetch(`/api/translate?${params}`, {method: "POST", body: blob, headers: {"Content-Type": "image/png"}});
    if (!reply.ok) {
      const problem = await reply.json().catch(() => ({error: reply.statusText}));
      throw new Error(`${reply.status}: ${problem.error}`);
    }
    const url = URL.createObjectURL(await reply.blob());
    const output = $("output");
    await new Promise((resolve, reject) => { output.onload = resolve; output.onerror = reject; output.src = url; });
    fitView(output, output.naturalWidth, output.naturalHeight);
    $("download").href = url;
    $("download").classList.remove("hidden");
    status(`${output.naturalWidth}x${output.naturalHeight} in ${((performance.now() - started) / 1000).toFixed(2)} s`);
    document.body.dataset.state = "done";
  } catch (error) {
    status(`Error ${error.message}`, true);
    document.body.dataset.state = "error";
  }
}
$("translate").addEventListener("click", translate);

fetch("/api/models").then((reply) => reply.json()).then((answer) => {
  models = answer.models;
  $("model").replaceChildren(...models.map((m) => new Option(m.name, m.name)));
  setupModel();
  document.body.dataset.state = "ready";
}).catch((error) => status(`cannot list the models: ${error}`, true));
