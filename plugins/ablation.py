"""The paper's ablations on any task: Table 1 (objectives), Table 2 (generators), Table 3 (discriminator fields).

Each distinct configuration trains once into ``OUT/<config>/`` (a run dir; rerunning resumes or
reuses it), is evaluated on a split into ``OUT/<config>/eval-<split>/``, and the tables (every
reported number, plus the ground-truth row where metrics measure the real images) are written to
``OUT/ablation.md`` and ``OUT/ablation.json`` with each table's comparison plots in ``OUT/table<k>/``.
The U-Net L1 and L1+cGAN runs of Table 2 and the 70×70 run of Table 3 are Table 1's runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from i2i.api import (ConfigError, atomic_write_text, draw_runs, evaluate, format_value, get_registry, markdown_table,
                     new_config, skipped_lines, train, why_untrainable)

if TYPE_CHECKING:
    from i2i.api import Evaluation, Hardware, TrainConfig


@dataclass(frozen=True)
class Variant:
    """One trained configuration: generator, objective and (for adversarial objectives) discriminator."""

    generator: str
    loss: str
    discriminator: str | None = None

    @property
    def name(self) -> str:
        return "-".join(part for part in (self.generator, self.loss, self.discriminator) if part)


LOSS_LABELS = {"l1": "L1", "gan": "GAN", "cgan": "cGAN", "l1+gan": "L1+GAN", "l1+cgan": "L1+cGAN"}
GENERATOR_LABELS = {"encdec": "Encoder-decoder", "unet": "U-Net"}
FIELD_LABELS = {"pixel": "1×1 (pixel)", "patch16": "16×16 (patch16)", "patch70": "70×70 (patch70)",
                "image286": "286×286 (image286)"}


def paper_tables() -> dict[str, list[tuple[str, Variant]]]:
    """The three tables as (row label, variant) lists, around the paper's default U-Net + 70×70 PatchGAN."""
    def variant(gen: str, loss: str, disc: str = "patch70") -> Variant:
        return Variant(gen, loss, None if loss == "l1" else disc)

    return {
        "Table 1: objective": [(label, variant("unet", loss)) for loss, label in LOSS_LABELS.items()],
        "Table 2: generator": [(f"{GENERATOR_LABELS[gen]} ({LOSS_LABELS[loss]})", variant(gen, loss))
                               for gen in GENERATOR_LABELS for loss in ("l1", "l1+cgan")],
        "Table 3: discriminator receptive field": [(label, variant("unet", "l1+cgan", disc))
                                                   for disc, label in FIELD_LABELS.items()],
    }


@dataclass
class Ablation:
    """Train and evaluate every variant of :func:`paper_tables` on ``task`` (each run with :func:`i2i.api.train`).

    ``overrides`` are TrainConfig fields shared by every run (the budget: epochs, sizes, network
    arguments, data, seed); ``max_train`` keeps that many training pairs (the same seeded subset in every run).
    """

    task: Any
    out: Path
    overrides: dict[str, Any]
    metrics: list[str]
    metric_args: dict[str, dict]
    hardware: Hardware
    split: str | None = None
    max_train: int | None = None
    quiet: bool = True
    log: Callable[[str], None] = print

    def __post_init__(self) -> None:
        self.registry = get_registry()

    def config(self, variant: Variant) -> TrainConfig:
        fields = {**self.overrides, "generator": variant.generator, "loss": variant.loss, "val_every": 0,
                  "max_train": self.max_train}
        for args in ("generator_args", "discriminator_args"):  # the task's widths for every variant, a fair table
            fields[args] = {**getattr(self.task, args), **self.overrides.get(args, {})}
        if variant.discriminator:
            fields["discriminator"] = variant.discriminator
        return new_config(self.task.name, registry=self.registry, **fields)

    def train(self, variant: Variant, config: TrainConfig) -> Path:
        """Train ``OUT/<variant>``, resuming an interrupted run and reusing a finished one."""
        return train(config, self.out / variant.name, quiet=self.quiet, registry=self.registry, hardware=self.hardware,
                     reuse=True)

    def check_budget(self) -> None:
        """Record the shared settings in ``OUT/budget.json``; rerunning with other settings is an error."""
        budget = {"task": self.task.name, "overrides": self.overrides, "max_train": self.max_train}
        path = self.out / "budget.json"
        if path.is_file() and json.loads(path.read_text(encoding="utf-8")) != json.loads(json.dumps(budget)):
            raise ConfigError(f"{self.out} holds runs trained with other settings ({path}); pick another --out")
        atomic_write_text(path, json.dumps(budget, indent=2, sort_keys=True) + "\n")

    def evaluate(self, variant: Variant, run_path: Path, config: TrainConfig) -> Evaluation:
        """Score the run's model/ on the split, into ``OUT/<variant>/eval-<split>/``."""
        return evaluate(run_path, task=self.task.name, data=config.data, split=self.split, metrics=self.metrics,
                        metric_args=self.metric_args, device=str(self.hardware.device),
                        precision=self.hardware.precision.precision, cpu_gemm=self.hardware.cpu_gemm, quiet=True,
                        label=variant.name, registry=self.registry)

    def run(self) -> dict[str, Any]:
        """Train and evaluate each distinct variant, then write the tables and plots."""
        self.check_budget()
        tables = paper_tables()
        variants = list(dict.fromkeys(v for rows in tables.values() for _, v in rows))
        evaluations, not_run = {}, {}
        for index, variant in enumerate(variants, 1):
            config = self.config(variant)
            reason = why_untrainable(config, self.registry)
            if reason:
                not_run[variant.name] = reason
                self.log(f"[{index}/{len(variants)}] {variant.name}: skipped: {reason}")
                continue
            self.log(f"[{index}/{len(variants)}] {variant.name}: training")
            run_path = self.train(variant, config)
            evaluations[variant.name] = self.evaluate(variant, run_path, config)
        return self.write(tables, evaluations, not_run)

    def write(self, tables: dict[str, list[tuple[str, Variant]]], evaluations: dict[str, Evaluation],
              not_run: dict[str, str]) -> dict[str, Any]:
        """``ablation.md`` (the tables, plots, what did not run), ``ablation.json`` and ``table<k>/`` plots."""
        records = {name: evaluation.record for name, evaluation in evaluations.items()}
        summary = {"task": self.task.name, "tables": {}, "not_run": not_run, "runs": records}
        sections = [f"# Ablations on {self.task.name}", f"Budget: {json.dumps(self.overrides, sort_keys=True)}."]
        skipped = dict(next((r["skipped"] for r in records.values() if r.get("skipped")), {}))
        for number, (title, rows) in enumerate(tables.items(), 1):
            members = {label: evaluations[v.name].metric_set for label, v in rows if v.name in evaluations}
            plots = draw_runs(members, self.out / f"table{number}", skipped)
            summary["tables"][title] = {label: v.name for label, v in rows}
            sections.append(table_markdown(title, rows, records, plots, self.out))
        if not_run:
            sections.append("Not run:\n\n" + "\n".join(f"- {name}: {reason}" for name, reason in not_run.items()))
        if skipped:
            sections.append("Metrics skipped:\n\n" + "\n".join(skipped_lines(skipped)))
        atomic_write_text(self.out / "ablation.md", "\n\n".join(sections) + "\n")
        atomic_write_text(self.out / "ablation.json", json.dumps(summary, indent=2) + "\n")
        return summary


def table_markdown(title: str, rows: list[tuple[str, Variant]], records: dict[str, dict], plots: dict[str, Path],
                   out: Path) -> str:
    """One table: a row per variant (and the ground truth), a column per reported number, then its plots."""
    columns = list(dict.fromkeys(key for _, v in rows for key in records.get(v.name, {}).get("metrics", {})))
    body = [[label, *[format_value(records.get(v.name, {}).get("metrics", {}).get(key)) for key in columns]]
            for label, v in rows]
    reference = next((records[v.name]["reference"] for _, v in rows if records.get(v.name, {}).get("reference")), {})
    if reference:
        body.append(["ground truth", *[format_value(reference.get(key)) for key in columns]])
    text = f"## {title}\n\n" + markdown_table(["", *columns], body)
    figures = "".join(f"\n\n![{title}: {name}]({path.relative_to(out).as_posix()})" for name, path in plots.items())
    return text + figures
