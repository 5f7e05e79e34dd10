"""How much disk a training run will take, from its networks' sizes and the checkpoints it keeps."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from tqdm import tqdm

from i2i.training.config import TrainConfig


def weight_bytes(module: nn.Module) -> int:
    """Bytes of a module's state dict (parameters and buffers) as safetensors stores it."""
    return sum(t.numel() * t.element_size() for t in module.state_dict().values())


def adam_bytes(module: nn.Module) -> int:
    """Bytes of Adam's two moments for ``module``'s trainable parameters."""
    return 2 * sum(p.numel() * p.element_size() for p in module.parameters() if p.requires_grad)


@dataclass(frozen=True)
class DiskPart:
    label: str
    count: int
    each: int


@dataclass(frozen=True)
class DiskPlan:
    """The files a run writes that matter for disk: how many of each, and their size."""

    parts: tuple[DiskPart, ...]

    @property
    def total(self) -> int:
        return sum(part.count * part.each for part in self.parts)

    def describe(self) -> str:
        """One line: ``disk: about 1.2GB (latest checkpoint with training state 217MB, ...)``."""
        size = lambda n: tqdm.format_sizeof(n, "B", 1024)  # noqa: E731
        parts = [f"{part.label} {size(part.each)}" if part.count == 1 else
                 f"{part.count} {part.label} × {size(part.each)}" for part in self.parts if part.count]
        return f"disk: about {size(self.total)} ({', '.join(parts)})"


def plan_disk(config: TrainConfig, generator: nn.Module, discriminator: nn.Module | None) -> DiskPlan:
    """The checkpoints and model a run with ``config`` keeps (sample grids and logs are small beside them).

    ``latest`` always holds the full training state (G, D and both optimisers: resume needs them); periodic
    ``epoch_NNNN`` checkpoints and ``best`` hold the generator's weights unless ``save_training_state``.
    """
    networks = [generator] + ([discriminator] if discriminator is not None else [])
    full = sum(weight_bytes(n) + adam_bytes(n) for n in networks)
    weights = weight_bytes(generator)
    kept = full if config.save_training_state else weights
    kind = "with training state" if config.save_training_state else "generator only"
    periodic = config.total_epochs // config.save_every if config.save_every else 0
    return DiskPlan((
        DiskPart("latest checkpoint with training state", 1, full),
        DiskPart(f"epoch checkpoints ({kind})", periodic, kept),
        DiskPart(f"best checkpoint ({kind})", 1 if config.best_metric else 0, kept),
        DiskPart("model/", 1, weights),
    ))
