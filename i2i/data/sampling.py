"""Deterministic, resumable data order: per-epoch shuffles, per-item generators and the loader.

Nothing here reads or advances the global RNG, and nothing depends on which worker process loads
an item: an epoch's order comes from ``(seed, epoch)`` and an item's randomness from
``(seed, epoch, index)``. The batch sampler yields ``(epoch, index)`` keys, so dataset copies in
persistent workers need no epoch state. Resuming mid-epoch is ``set_epoch(epoch, start_batch=k)``.

In a distributed run each of ``world_size`` processes takes its own part of every global batch
(``batch_size`` per process), so the epoch's order and the batch count do not depend on the number of
processes that share it, and resuming with another number keeps both when the global batch is kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from i2i.core.errors import ConfigError, DataError

ItemKey = tuple[int, int]


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed mixed from ``parts``; the same in every process, platform and Python run."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def item_generator(seed: int, epoch: int, index: int, stream: str) -> torch.Generator:
    """A CPU generator for one item's ``stream`` of randomness (e.g. "jitter", "pair")."""
    return torch.Generator().manual_seed(derive_seed(seed, epoch, index, stream))


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """The shuffled order of ``range(n)`` for ``epoch``: a permutation fixed by ``(seed, epoch)``."""
    generator = torch.Generator().manual_seed(derive_seed(seed, epoch, "order"))
    return torch.randperm(n, generator=generator).tolist()


class EpochBatchSampler(Sampler[list[ItemKey]]):
    """Batches of ``(epoch, index)`` keys in the epoch's order, starting at batch ``start_batch``.

    With ``world_size`` > 1 the epoch is cut into global batches of ``batch_size * world_size`` and
    process ``rank`` gets its contiguous part of each, disjoint from the others'. The epoch's last, short
    global batch is split as evenly as it goes; when it has fewer pairs than processes it is topped up
    from the start of the epoch's order, so every process has a batch to step on.
    """

    def __init__(
        self, n: int, batch_size: int, *, shuffle: bool, seed: int, drop_last: bool = False,
        epoch: int = 0, start_batch: int = 0, rank: int = 0, world_size: int = 1,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ConfigError(f"rank {rank} is not among {world_size} processes")
        self.n, self.batch_size, self.shuffle, self.seed, self.drop_last = n, batch_size, shuffle, seed, drop_last
        self.rank, self.world_size = rank, world_size
        self.set_epoch(epoch, start_batch)

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Use ``epoch``'s order from now on, skipping its first ``start_batch`` batches (resume)."""
        self.epoch, self.start_batch = epoch, start_batch

    def batches_per_epoch(self) -> int:
        full, rest = divmod(self.n, self.batch_size * self.world_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __len__(self) -> int:
        return max(0, self.batches_per_epoch() - self.start_batch)

    def __iter__(self) -> Iterator[list[ItemKey]]:
        order = epoch_order(self.n, self.seed, self.epoch) if self.shuffle else list(range(self.n))
        size = self.batch_size * self.world_size
        for b in range(self.start_batch, self.batches_per_epoch()):
            yield [(self.epoch, i) for i in self._shard(order[b * size : (b + 1) * size], order)]

    def _shard(self, batch: list[int], order: list[int]) -> list[int]:
        """This process's contiguous part of a global ``batch``."""
        if self.world_size == 1:
            return batch
        while len(batch) < self.world_size:
            batch = batch + order[: self.world_size - len(batch)]
        base, extra = divmod(len(batch), self.world_size)
        start = self.rank * base + min(self.rank, extra)
        return batch[start : start + base + (self.rank < extra)]


def collate_pairs(items: list[dict]) -> dict:
    """Stack a batch of pairs; images of different sizes (modes that do not crop) are one clear error."""
    def size(image: torch.Tensor) -> str:
        return "x".join(map(str, image.shape[-2:]))

    for item in items:
        if item["a"].shape[-2:] != item["b"].shape[-2:]:
            raise DataError(f"A and B of {item['path']} differ in size after preprocessing ({size(item['a'])} and "
                            f"{size(item['b'])}): give them one size or use --preprocess resize_and_crop")
    sizes = sorted({size(item["a"]) for item in items})
    if len(sizes) > 1:
        shown = " and ".join(sizes[:2])
        raise DataError(f"a batch mixes image sizes ({shown}, e.g. {items[-1]['path']}): with a --preprocess "
                        f"mode that does not crop, use --batch-size 1 or images of one size")
    return default_collate(items)


class PairLoader(DataLoader):
    """A DataLoader over an :class:`EpochBatchSampler` whose worker errors read as one line.

    A :class:`DataError` raised in a worker comes back as its own message (naming the file), not as
    the worker's traceback text.
    """

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Iterate ``epoch`` next, from batch ``start_batch`` (0, or the batches done when resuming)."""
        self.batch_sampler.set_epoch(epoch, start_batch)

    def __iter__(self) -> Iterator[dict]:
        iterator = super().__iter__()
        try:
            yield from iterator
        except DataError as exc:
            text = str(exc)
            if "Original Traceback" not in text:
                raise
            # Stop the workers now: left to the garbage collector (the error sits in a reference cycle)
            # their queues close first and shutdown waits 5 s for each worker.
            iterator._shutdown_workers()
            self._iterator = None
            last = text.strip().splitlines()[-1]
            raise type(exc)(last.partition(": ")[2] or last) from None


def build_loader(
    dataset: Dataset, batch_size: int, *, shuffle: bool, seed: int, epoch: int = 0, start_batch: int = 0,
    num_workers: int = 0, drop_last: bool = False, pin_memory: bool = False, rank: int = 0, world_size: int = 1,
) -> PairLoader:
    """A loader yielding ``epoch``'s batches in the deterministic order, from batch ``start_batch``.

    Build it once and call ``loader.set_epoch(e)`` per epoch: workers persist (keeping their decode
    caches). The loader's own seed draws use a private generator, never the global RNG. ``rank`` and
    ``world_size``: this process's shard of each global batch (see :class:`EpochBatchSampler`).
    """
    sampler = EpochBatchSampler(
        len(dataset), batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last, epoch=epoch, start_batch=start_batch,
        rank=rank, world_size=world_size,
    )
    return PairLoader(
        dataset, batch_sampler=sampler, num_workers=num_workers, pin_memory=pin_memory, collate_fn=collate_pairs,
        persistent_workers=num_workers > 0, generator=torch.Generator().manual_seed(derive_seed(seed, "loader")),
    )
