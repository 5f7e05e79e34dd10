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
from typing import Any, Callable

import torch

from i2i import usecases
from i2i.atomic import atomic_write_text
from i2i.errors import ConfigError
from i2i.eval_report import format_value, markdown_table, skipped_lines
from i2i.metric_set import MetricSet, draw_runs
from i2i.objective import Objective
from i2i.pairs import PairDataset
from i2i.train_config import TrainConfig
from i2i.training import build_networks


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


def untrainable(config: TrainConfig, registry) -> str | None:
    """Why the networks cannot train at the config's crop size (built on the meta device), or None."""
    objective = Objective.build(config.loss, registry, config.lambda_l1)
    with torch.device("meta"):
        _, discriminator = build_networks(config, objective, registry)
        if discriminator is None:
            return None
        channels = config.out_channels + (config.in_channels if objective.adversarial.conditional else 0)
        try:
            discriminator(torch.empty(config.batch_size, channels, config.crop_size, config.crop_size))
        except (RuntimeError, ValueError) as exc:
            detail = str(exc).strip().splitlines()[0]
            return (f"{config.discriminator} cannot judge {config.crop_size}-px crops at batch size "
                    f"{config.batch_size} ({detail}); use a larger --crop-size")
    return None


@dataclass
class Ablation:
    """Train and evaluate every variant of :func:`paper_tables` on ``task`` (each run with :func:`i2i.usecases.train`).

    ``overrides`` are TrainConfig fields shared by every run (the budget: epochs, sizes, network
    arguments, data, seed); ``max_train`` keeps that many training pairs (evenly spaced).
    """

    task: Any
    out: Path
    overrides: dict[str, Any]
    metrics: list[str]
    metric_args: dict[str, dict]
    hardware: usecases.Hardware
    split: str | None = None
    max_train: int | None = None
    quiet: bool = True
    log: Callable[[str], None] = print

    def __post_init__(self) -> None:
        from i2i.plugins import get_registry

        self.registry = get_registry()

    def config(self, variant: Variant) -> TrainConfig:
        fields = {**self.overrides, "generator": variant.generator, "loss": variant.loss, "val_every": 0}
        for args in ("generator_args", "discriminator_args"):  # the task's widths for every variant, a fair table
            fields[args] = {**getattr(self.task, args), **self.overrides.get(args, {})}
        if variant.discriminator:
            fields["discriminator"] = variant.discriminator
        return usecases.new_config(self.task.name, registry=self.registry, **fields)

    def train(self, variant: Variant, config: TrainConfig) -> Path:
        """Train ``OUT/<variant>``, resuming an interrupted run and reusing a finished one."""
        datasets = None if self.max_train is None else self._subsampled(config)
        return usecases.train(config, self.out / variant.name, quiet=self.quiet, registry=self.registry,
                              hardware=self.hardware, datasets=datasets, reuse=True)

    def check_budget(self) -> None:
        """Record the shared settings in ``OUT/budget.json``; rerunning with other settings is an error."""
        budget = {"task": self.task.name, "overrides": self.overrides, "max_train": self.max_train}
        path = self.out / "budget.json"
        if path.is_file() and json.loads(path.read_text(encoding="utf-8")) != json.loads(json.dumps(budget)):
            raise ConfigError(f"{self.out} holds runs trained with other settings ({path}); pick another --out")
        atomic_write_text(path, json.dumps(budget, indent=2, sort_keys=True) + "\n")

    def _subsampled(self, config: TrainConfig) -> tuple[PairDataset, PairDataset | None]:
        """The run's datasets with ``max_train`` evenly spaced training pairs."""
        train_set, val_set = usecases.train_data(config, self.registry)
        items = train_set.items
        if self.max_train < len(items):
            step = len(items) / self.max_train
            train_set.items = [items[int(i * step)] for i in range(self.max_train)]
        return train_set, val_set

    def evaluate(self, variant: Variant, run_path: Path, config: TrainConfig) -> tuple[dict, MetricSet]:
        """Score the run's model/ on the split, into ``OUT/<variant>/eval-<split>/``."""
        result = usecases.evaluate(run_path, task=self.task.name, data=config.data, split=self.split,
                                   metrics=self.metrics, metric_args=self.metric_args, device=str(self.hardware.device),
                                   precision=self.hardware.precision.precision, cpu_gemm=self.hardware.cpu_gemm,
                                   quiet=True, label=variant.name, registry=self.registry)
        return result.record, result.metric_set

    def run(self) -> dict[str, Any]:
        """Train and evaluate each distinct variant, then write the tables and plots."""
        self.check_budget()
        tables = paper_tables()
        variants = list(dict.fromkeys(v for rows in tables.values() for _, v in rows))
        records, metric_sets, not_run = {}, {}, {}
        for index, variant in enumerate(variants, 1):
            config = self.config(variant)
            reason = untrainable(config, self.registry)
            if reason:
                not_run[variant.name] = reason
                self.log(f"[{index}/{len(variants)}] {variant.name}: skipped: {reason}")
                continue
            self.log(f"[{index}/{len(variants)}] {variant.name}: training")
            run_path = self.train(variant, config)
            records[variant.name], metric_sets[variant.name] = self.evaluate(variant, run_path, config)
        return self.write(tables, records, metric_sets, not_run)

    def write(self, tables: dict[str, list[tuple[str, Variant]]], records: dict[str, dict],
              metric_sets: dict[str, MetricSet], not_run: dict[str, str]) -> dict[str, Any]:
        """``ablation.md`` (the tables, plots, what did not run), ``ablation.json`` and ``table<k>/`` plots."""
        summary = {"task": self.task.name, "tables": {}, "not_run": not_run, "runs": records}
        sections = [f"# Ablations on {self.task.name}", f"Budget: {json.dumps(self.overrides, sort_keys=True)}."]
        skipped = dict(next((r["skipped"] for r in records.values() if r.get("skipped")), {}))
        for number, (title, rows) in enumerate(tables.items(), 1):
            members = {label: metric_sets[v.name] for label, v in rows if v.name in metric_sets}
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
