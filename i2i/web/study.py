"""``i2i study make`` and ``i2i study serve``: the paper's "real vs fake" perceptual study as a static page.

Protocol (PAPER.md, Evaluation): each trial shows a real image and a generated one side by side (sides
random) for one second, then the participant picks the fake; 10 practice trials with feedback, then 40
test trials without. Catch trials (the real image against a heavily blurred copy) are mixed into the test
trials to screen out inattentive participants. Each participant sees each image once.

A study folder holds ``index.html``, ``study.js``, ``i2i.css``, ``config.js`` (the study's settings and
image list) and ``images/{real,catch,<model>}/<name>.png``; it works from ``file://`` or any static host.
The page offers its responses as CSV and JSON downloads and, when served by ``i2i study serve``, also
POSTs them to ``responses``, stored as ``DIR/responses/<session>.json``.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from i2i import __version__
from i2i.core.atomic import atomic_write_text
from i2i.core.errors import ConfigError
from i2i.web.server import WEB_ASSETS, HttpError, JsonHandler, safe_child, start_server

RESPONSE_FIELDS = ("study", "task", "participant", "session", "trial", "phase", "image", "model", "real_side",
                   "chosen_side", "question", "correct", "labelled_real", "display_ms", "response_ms", "time")
"""The columns of a response row (CSV header, JSON keys), as the study page writes them."""
PHASES = ("practice", "test", "catch")
CATCH_MODEL = "catch"
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
_PAGE_ASSETS = {"study.html": "index.html", "study.js": "study.js", "i2i.css": "i2i.css"}


@dataclass(frozen=True)
class Protocol:
    """Trial counts and timing of one study. ``question``: the participant picks the ``fake`` (the paper) or the ``real``."""

    practice: int = 10
    trials: int = 40
    catch: int = 5
    display_ms: int = 1000
    question: str = "fake"

    def __post_init__(self) -> None:
        for name in ("practice", "trials", "catch"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name} must be 0 or more, got {getattr(self, name)}")
        if self.trials < 1:
            raise ConfigError("a study needs at least one test trial (--trials)")
        if self.display_ms < 1:
            raise ConfigError(f"the display time must be positive, got {self.display_ms} ms")
        if self.question not in ("fake", "real"):
            raise ConfigError(f"question must be 'fake' or 'real', got {self.question!r}")

    @property
    def images_per_participant(self) -> int:
        return self.practice + self.trials + self.catch


def model_labels(models: list[str]) -> list[str]:
    """Short, unique, file-safe names for the models: a run or model dir's folder name, a Hub id's last part."""
    labels: list[str] = []
    for model in models:
        path = Path(model.split("@")[0])
        name = path.parent.name if path.name == "model" and path.parent.name else path.name
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"
        label, count = base, 1
        while label in labels or label in ("real", CATCH_MODEL):
            count += 1
            label = f"{base}-{count}"
        labels.append(label)
    return labels


def catch_image(image):
    """An obvious fake for catch trials: ``image`` (C, H, W) shrunk to a few pixels and blown up again (a heavy blur)."""
    from torchvision.transforms.v2 import functional as F

    height, width = image.shape[-2:]
    small = [max(2, height // 16), max(2, width // 16)]
    return F.resize(F.resize(image, small, antialias=True), [height, width], antialias=False)


def _check_compatible(translators: dict) -> dict:
    """The shared config of the models (crop size, preprocessing, direction, channels): one set of real images
    fits all."""
    from i2i.models.modeldir import train_preprocess

    keys = ("direction", "in_channels", "out_channels")
    first_name, first = next(iter(translators.items()))
    for name, translator in translators.items():
        config = translator.config
        for key in keys:
            if config[key] != first.config[key]:
                raise ConfigError(f"the models disagree on {key}: {first_name} has {first.config[key]!r}, "
                                  f"{name} has {config[key]!r}; study them separately")
        if train_preprocess(config) != train_preprocess(first.config):
            raise ConfigError(f"the models were trained with different --preprocess modes ({first_name}: "
                              f"{train_preprocess(first.config)}, {name}: {train_preprocess(config)}); "
                              f"study them separately")
        if config["train_size"]["crop_size"] != first.config["train_size"]["crop_size"]:
            raise ConfigError(f"the models were trained at different sizes ({first_name}: "
                              f"{first.config['train_size']['crop_size']} px, {name}: "
                              f"{config['train_size']['crop_size']} px); study them separately")
    return first.config


def make_study(models: list[str], task_name: str | None, out: Path, *, split: str = "test", data: str | None = None,
               protocol: Protocol = Protocol(), max_pairs: int | None = None, mode: str | None = None,
               device: str = "auto", precision: str = "auto", cpu_gemm: bool | None = None, seed: int = 0,
               progress: Callable[[int], None] = lambda n: None, total: Callable[[int], None] = lambda n: None) -> dict:
    """Translate ``split`` with each model and write the study folder ``out``; returns its config.

    Images are resized to the models' training crop size in their --preprocess mode, as ``i2i test`` does.
    ``max_pairs`` keeps the split's first pairs only. ``total(n)`` is told how many images will be written,
    ``progress(1)`` after each.
    """
    from i2i.core.plugin_manager import get_registry
    from i2i.data.images import write_image
    from i2i.data.location import task_data_root
    from i2i.eval.evaluate import split_dataset
    from i2i.models.modeldir import train_preprocess
    from i2i.models.translator import Translator
    from i2i.training.rundir import trained_data

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not empty; choose a new folder for the study")
    translators = {label: Translator.load(model, device=device, mode=mode, precision=precision, seed=seed,
                                          cpu_gemm=cpu_gemm)
                   for label, model in zip(model_labels(models), models)}
    config = _check_compatible(translators)
    task_name = task_name or config["task"]
    if task_name is None:
        raise ConfigError("the model names no task: pass --task to say which data to study")
    task = get_registry().resolve("tasks", task_name)
    root = task_data_root(task, data or trained_data(models[0]))
    dataset = split_dataset(task, root, split, direction=config["direction"], in_channels=config["in_channels"],
                            out_channels=config["out_channels"], size=config["train_size"]["crop_size"],
                            preprocess=train_preprocess(config))
    count = len(dataset) if max_pairs is None else min(max_pairs, len(dataset))
    if count < protocol.images_per_participant:
        raise ConfigError(
            f"the {split} split of {task_name} has {count} pair(s) to use, but each participant sees each image "
            f"once and {protocol.practice} practice + {protocol.trials} test + {protocol.catch} catch trials need "
            f"{protocol.images_per_participant}: lower --practice/--trials/--catch or use a larger split")
    total(count * (2 + len(translators)))
    names = []
    for index in range(count):
        item = dataset[index]
        name = f"{index:05d}_{Path(item['path']).stem}"
        names.append(name)
        for folder, image in (("real", item["b"]), (CATCH_MODEL, catch_image(item["b"]))):
            write_image(image, out / "images" / folder / f"{name}.png")
            progress(1)
        for label, translator in translators.items():
            write_image(translator.translate(item["a"]), out / "images" / label / f"{name}.png")
            progress(1)
    study = {
        "id": f"{task_name}-{split}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}",
        "task": task_name, "split": split, "protocol": asdict(protocol), "images": names,
        "models": [{"name": label, "source": model, "mode": translators[label].mode}
                   for label, model in zip(translators, models)],
        "i2i_version": __version__,
    }
    write_study_page(out, study)
    return study


def write_study_page(out: Path, study: dict) -> None:
    """The page files and ``config.js`` (a script, not JSON, so the page also works from ``file://``)."""
    for source, target in _PAGE_ASSETS.items():
        shutil.copyfile(WEB_ASSETS / source, out / target)
    atomic_write_text(out / "config.js", f"window.I2I_STUDY = {json.dumps(study, indent=1)};\n")
    atomic_write_text(out / "study.json", json.dumps(study, indent=2) + "\n")


def check_responses(payload) -> list[dict]:
    """The rows of a POSTed ``{"responses": [...]}``, each with exactly the page's fields; else a 400."""
    rows = payload.get("responses") if isinstance(payload, dict) else None
    if not isinstance(rows, list) or not rows:
        raise HttpError(400, 'expected {"responses": [row, ...]} with at least one row')
    for row in rows:
        if not isinstance(row, dict) or set(row) != set(RESPONSE_FIELDS):
            raise HttpError(400, f"each response row needs exactly the fields {', '.join(RESPONSE_FIELDS)}")
        if row["phase"] not in PHASES:
            raise HttpError(400, f"unknown phase {row['phase']!r}")
    sessions = {str(row["session"]) for row in rows}
    if len(sessions) != 1 or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", next(iter(sessions))):
        raise HttpError(400, "all rows must share one session id of letters, digits, '-' and '_'")
    return rows


def study_handler(folder: Path) -> type[JsonHandler]:
    """Static files of a study folder, plus ``POST /responses`` storing one session's rows as JSON."""
    folder = Path(folder)

    class Handler(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            try:
                path = unquote(urlsplit(self.path).path)
                target = safe_child(folder, path)
                if target.is_dir():
                    target = target / "index.html"
                if folder.resolve() / "responses" in (target, *target.parents):
                    raise HttpError(404, f"not found: {path}")
                self.send_file(target)
            except HttpError as error:
                self.send_error_json(error)

        def do_POST(self) -> None:  # noqa: N802
            try:
                if urlsplit(self.path).path != "/responses":
                    raise HttpError(404, f"not found: {self.path}")
                try:
                    payload = json.loads(self.read_body(MAX_RESPONSE_BYTES))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise HttpError(400, f"the body is not JSON: {exc}") from None
                rows = check_responses(payload)
                name = f"responses/{rows[0]['session']}.json"
                atomic_write_text(folder / name, json.dumps({"responses": rows}, indent=1) + "\n")
                self.send_json(200, {"saved": name, "rows": len(rows)})
            except HttpError as error:
                self.send_error_json(error)

    return Handler


def serve_study(folder: Path, host: str = "127.0.0.1", port: int = 8000, verbose: bool = False):
    """Serve a study folder on a thread; returns the running ``ThreadingHTTPServer``."""
    folder = Path(folder)
    if not (folder / "config.js").is_file():
        raise ConfigError(f"{folder} is not a study folder (no config.js); make one with `i2i study make`")
    handler = study_handler(folder)
    handler.verbose = verbose
    return start_server(handler, host, port)
