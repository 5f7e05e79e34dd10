"""The resolved training configuration: the task's recipe overridden by the user's options."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from i2i.core.errors import ConfigError
from i2i.core.task import Recipe, Task, check_preprocess
from i2i.training.schedule import check_policy
from i2i.training.weight_init import check_init


def l1_weight(loss: str, lambda_l1: float | None, default: float) -> float:
    """The L1 weight a run records as ``lambda_l1``: the one ``loss`` gives ``l1`` (``l1:50+cgan``), else
    ``lambda_l1``, else ``default``; ``loss`` and ``lambda_l1`` may not disagree."""
    from i2i.training.objective import parse_loss_spec

    given = dict(parse_loss_spec(loss)).get("l1")
    if given is None:
        return default if lambda_l1 is None else lambda_l1
    if lambda_l1 is not None and lambda_l1 != given:
        raise ConfigError(f"--loss {loss!r} weights l1 by {given:g} but --lambda-l1 is {lambda_l1:g}; give it once")
    return given


@dataclass
class TrainConfig(Recipe):
    """Everything that determines a run's maths; saved as the run's config.json.

    The recipe fields (epochs, sizes, optimiser, lambda_L1) come from :class:`i2i.core.task.Recipe`.
    """

    task: str = "demo"
    data: str | None = None
    generator: str = "unet"
    generator_args: dict[str, Any] = field(default_factory=dict)
    discriminator: str = "patch70"
    discriminator_args: dict[str, Any] = field(default_factory=dict)
    loss: str = "l1+cgan"
    in_channels: int = 3
    out_channels: int = 3
    direction: str = "AtoB"
    seed: int = 0
    val_every: int = 1
    val_metrics: list[str] = field(default_factory=lambda: ["l1", "psnr", "ssim"])
    best_metric: str | None = None  # keep checkpoints/best by this validation metric; None: no best checkpoint
    save_every: int = 5
    save_training_state: bool = False  # periodic and best checkpoints hold G, D and optimisers, not only G
    max_train: int | None = None  # train on this many pairs of the train split at most (a seeded subset)
    log_every: int = 50
    samples: int = 4
    inference_mode: str | None = None  # None: chosen from the training (i2i.models.inference_mode) when the run starts
    inference_mode_reason: str | None = None
    skip_bad_images: bool = False
    lr_policy: str = "linear"
    lr_decay_every: int = 50
    init_type: str | None = None
    init_gain: float = 0.02
    world_size: int = 1  # training processes; batch_size is each one's share of the global batch
    sync_bn: bool = True  # with world_size > 1: batch norm over the global batch (SyncBatchNorm)

    @classmethod
    def from_task(cls, task: Task, **overrides: Any) -> "TrainConfig":
        """The task's recipe and defaults, then every override that is not None. The task's network arguments
        apply to its own generator / discriminator, with the overrides' arguments merged over them."""
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown training config fields: {', '.join(sorted(unknown))}")
        base = {
            "task": task.name,
            "generator": task.generator,
            "discriminator": task.discriminator,
            "loss": task.loss,
            "in_channels": task.in_channels,
            "out_channels": task.out_channels,
            "direction": task.direction,
            "val_metrics": list(task.metrics),
            **asdict(task.recipe),
        }
        if overrides.get("direction") not in (None, task.direction):  # channels are given for the task's direction
            base["in_channels"], base["out_channels"] = task.out_channels, task.in_channels
        for args, kind in (("generator_args", "generator"), ("discriminator_args", "discriminator")):
            own = getattr(task, args) if overrides.get(kind) in (None, getattr(task, kind)) else {}
            overrides[args] = {**own, **(overrides.get(args) or {})}
        base.update({k: v for k, v in overrides.items() if v is not None})
        base["lambda_l1"] = l1_weight(base["loss"], overrides.get("lambda_l1"), base["lambda_l1"])
        config = cls(**base)
        config.validate()
        return config

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """Rebuild from a run's config.json (its ``provenance`` and ``runtime`` records are informational)."""
        data = {k: v for k, v in data.items() if k not in ("provenance", "runtime", "global_batch_size")}
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown training config keys: {', '.join(sorted(unknown))}")
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        """The fields, and the global batch they imply (informational: ``from_dict`` derives it again)."""
        return {**asdict(self), "global_batch_size": self.global_batch_size}

    def validate(self) -> None:
        if self.direction not in ("AtoB", "BtoA"):
            raise ConfigError(f"--direction must be AtoB or BtoA, not {self.direction!r}")
        if self.preprocess in ("resize_and_crop", "scale_width_and_crop") and self.crop_size > self.load_size:
            raise ConfigError(f"--crop-size {self.crop_size} is larger than --load-size {self.load_size}")
        for name in ("epochs_decay", "save_every", "val_every"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 0")
        for name in ("batch_size", "crop_size", "log_every", "in_channels", "out_channels", "world_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1")
        for name in ("lr", "lambda_l1"):
            if getattr(self, name) < 0 or (name == "lr" and self.lr == 0):
                raise ConfigError(f"--{name.replace('_', '-')} must be {'> 0' if name == 'lr' else '>= 0'}")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError("Adam's betas must lie in [0, 1)")
        if self.epochs < 0 or self.epochs + self.epochs_decay < 1:
            raise ConfigError("train for at least one epoch (--epochs + --epochs-decay >= 1)")
        if self.max_train is not None and self.max_train < 1:
            raise ConfigError("--max-train must be >= 1")
        check_policy(self.lr_policy, self.epochs, self.lr_decay_every)
        check_preprocess(self.preprocess, self.load_size, self.crop_size)
        check_init(self.init_type, self.init_gain)
        if self.best_metric is not None and self.best_metric not in self.val_metrics:
            raise ConfigError(f"--best-metric {self.best_metric!r} is not among the validation metrics "
                              f"({', '.join(self.val_metrics)})")

    @property
    def global_batch_size(self) -> int:
        return self.batch_size * self.world_size

    def regroup(self, world_size: int) -> None:
        """Share the same global batch among ``world_size`` processes (a run resumed with another number)."""
        total = self.global_batch_size
        if total % world_size:
            divisors = ", ".join(str(d) for d in range(1, total + 1) if total % d == 0)
            raise ConfigError(f"this run's global batch of {total} ({self.world_size} process(es) x "
                              f"{self.batch_size}) cannot be shared by {world_size} processes; resume it with "
                              f"{divisors} process(es)")
        self.batch_size, self.world_size = total // world_size, world_size

    @property
    def total_epochs(self) -> int:
        return self.epochs + self.epochs_decay
