"""``i2i study analyze``: "% labelled real" per model and task, with bootstrap 95% intervals.

Participants (one page session each) who fail the catch trials are excluded. The interval resamples
participants, not trials, since one participant's answers are not independent. The table has the shape
of the paper's Tables 4 and 5: a row per model, a column per task.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from i2i.core.atomic import atomic_write_text
from i2i.core.errors import DataError
from i2i.web.study import RESPONSE_FIELDS

_NEEDED = ("task", "session", "trial", "phase", "model", "correct")


def _flag(value, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise DataError(f"{where}: expected true or false, got {value!r}")


def _read_file(path: Path) -> list[dict]:
    try:
        if path.suffix.lower() == ".csv":
            with open(path, newline="", encoding="utf-8") as handle:
                return list(csv.DictReader(handle))
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read responses {path}: {exc}") from exc
    rows = payload.get("responses") if isinstance(payload, dict) else payload
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise DataError(f"{path} holds no response rows (expected {{\"responses\": [...]}} or a list)")
    return rows


def load_responses(paths: list[Path | str]) -> list[dict]:
    """Response rows from CSV/JSON files and folders of them; a session's trial seen twice (a download and
    a POST of the same answers) counts once."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".json"))
        elif path.is_file():
            files.append(path)
        else:
            raise DataError(f"responses not found: {path}")
    rows: dict[tuple[str, int], dict] = {}
    for file in files:
        for number, row in enumerate(_read_file(file), 1):
            where = f"{file} row {number}"
            missing = [key for key in _NEEDED if key not in row]
            if missing:
                raise DataError(f"{where} lacks {', '.join(missing)} (a response row has {', '.join(RESPONSE_FIELDS)})")
            try:
                trial = int(row["trial"])
            except (TypeError, ValueError):
                raise DataError(f"{where}: trial must be a number, got {row['trial']!r}") from None
            rows[(str(row["session"]), trial)] = {**row, "session": str(row["session"]), "trial": trial,
                                                  "correct": _flag(row["correct"], where)}
    if not rows:
        raise DataError(f"no responses in {', '.join(map(str, paths))}")
    return list(rows.values())


def bootstrap_interval(labelled: np.ndarray, shown: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """95% percentile interval of sum(labelled)/sum(shown) over participants drawn with replacement."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(shown), size=(resamples, len(shown)))
    rates = labelled[picks].sum(1) / np.maximum(shown[picks].sum(1), 1)
    low, high = np.percentile(rates, [2.5, 97.5])
    return float(low), float(high)


def analyze(rows: list[dict], *, min_catch: float = 0.8, resamples: int = 10000, seed: int = 0) -> dict:
    """Per (task, model): % of test trials whose generated image was labelled real, with a bootstrap 95% CI."""
    sessions = sorted({row["session"] for row in rows})
    catch = {s: [r["correct"] for r in rows if r["session"] == s and r["phase"] == "catch"] for s in sessions}
    excluded = sorted(s for s in sessions if catch[s] and np.mean(catch[s]) < min_catch)
    kept = [r for r in rows if r["session"] not in excluded and r["phase"] == "test"]
    results = []
    for task, model in sorted({(r["task"], r["model"]) for r in kept}):
        mine = [r for r in kept if r["task"] == task and r["model"] == model]
        people = sorted({r["session"] for r in mine})
        shown = np.array([sum(r["session"] == s for r in mine) for s in people], dtype=np.float64)
        labelled = np.array([sum(r["session"] == s and not r["correct"] for r in mine) for s in people],
                            dtype=np.float64)
        low, high = bootstrap_interval(labelled, shown, resamples, seed)
        results.append({"task": task, "model": model, "labelled_real": float(labelled.sum() / shown.sum()),
                        "ci95": [low, high], "trials": int(shown.sum()), "participants": len(people)})
    if not results:
        raise DataError(f"no test trials left to analyze: {len(excluded)} of {len(sessions)} participant(s) "
                        f"answered under {min_catch:.0%} of their catch trials correctly, and the rest none")
    return {"participants": len(sessions), "excluded": excluded, "min_catch": min_catch,
            "catch_accuracy": {s: float(np.mean(c)) for s, c in catch.items() if c},
            "practice_trials_ignored": sum(r["phase"] == "practice" for r in rows),
            "bootstrap_resamples": resamples, "results": results}


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def results_table(report: dict) -> str:
    """The paper-style table: a row per model, a column per task, "% labelled real [95% CI]" cells."""
    tasks = sorted({r["task"] for r in report["results"]})
    models = sorted({r["model"] for r in report["results"]})
    cell = {(r["task"], r["model"]): r for r in report["results"]}
    lines = ["| Method | " + " | ".join(f"{task}: % labelled real" for task in tasks) + " |",
             "|---|" + "---|" * len(tasks)]
    for model in models:
        cells = []
        for task in tasks:
            r = cell.get((task, model))
            cells.append("—" if r is None else
                         f"{_percent(r['labelled_real'])} [{_percent(r['ci95'][0])}, {_percent(r['ci95'][1])}]")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report_markdown(report: dict) -> str:
    """The results table, the counts behind each cell, and who was excluded."""
    lines = ["# Real vs fake perceptual study", "",
             f"{report['participants']} participant(s); {len(report['excluded'])} excluded for answering under "
             f"{_percent(report['min_catch'])} of their catch trials correctly. Bootstrap over participants, "
             f"{report['bootstrap_resamples']} resamples.", "", results_table(report), "",
             "| task | model | % labelled real | 95% CI | test trials | participants |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['task']} | {r['model']} | {_percent(r['labelled_real'])} | {_percent(r['ci95'][0])}–"
              f"{_percent(r['ci95'][1])} | {r['trials']} | {r['participants']} |" for r in report["results"]]
    if report["excluded"]:
        lines += ["", "Excluded sessions: " + ", ".join(report["excluded"])]
    return "\n".join(lines) + "\n"


def write_report(report: dict, out: Path) -> tuple[Path, Path]:
    """``out/study.md`` and ``out/study.json``."""
    out = Path(out)
    return (atomic_write_text(out / "study.md", report_markdown(report)),
            atomic_write_text(out / "study.json", json.dumps(report, indent=2) + "\n"))

