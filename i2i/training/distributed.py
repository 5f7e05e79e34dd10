"""Data-parallel training on torch.distributed, one process per device, as torchrun launches it.

torchrun (or ``i2i train --nproc N``, which starts torchrun's machinery on this machine) sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address; :func:`setup` joins the process group: NCCL
on CUDA (process ``LOCAL_RANK`` takes ``cuda:LOCAL_RANK``), gloo on the CPU. Every process then trains
on its shard of each global batch (:mod:`i2i.data.sampling`); DDP averages G's and D's gradients
(:func:`data_parallel`); batch norm runs over the global batch (:func:`convert_sync_batchnorm`).
Rank 0 alone writes the run dir (:func:`main_process_only`); all ranks agree each step whether to
stop (:func:`any_rank`), and a rank that fails takes the others down with one clear error
(:func:`failing_together`). With one process (``WORLD_SIZE`` unset or 1) everything here is a no-op.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from i2i.core.errors import ConfigError, I2IError, Interrupted

DEFAULT_TIMEOUT_S = 1800
_FAILURE_KEY = "i2i/failure"
T = TypeVar("T")


class DistributedError(I2IError):
    """Another process of a distributed run failed, was killed or stopped answering."""


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


_world = World()
_control: Any = None  # a CPU (gloo) group for the small agreement collectives


def world() -> World:
    """This process's :class:`World` (one process of one until :func:`setup` joined a group)."""
    return _world


def launched_world() -> World:
    """The world torchrun described in the environment; ``World()`` when not launched by it."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError as exc:
        raise ConfigError(f"bad torchrun environment (RANK, WORLD_SIZE, LOCAL_RANK): {exc}") from exc
    if not 0 <= rank < size:
        raise ConfigError(f"bad torchrun environment: RANK {rank} with WORLD_SIZE {size}")
    return World(rank, size, local_rank)


def _device(name: str, local_rank: int) -> torch.device:
    """Process ``local_rank``'s device: ``cuda:LOCAL_RANK`` for auto/cuda with GPUs, else the CPU."""
    from i2i.accel.device import resolve_device

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if local_rank >= count:
            raise ConfigError(f"process {local_rank} of this machine has no GPU of its own ({count} visible); "
                              f"start at most {count} processes per machine or use --device cpu")
        return torch.device("cuda", local_rank)
    device = resolve_device(name)
    if device.type != "cpu":
        raise ConfigError(f"--device {name} under torchrun: use --device cuda (each process takes "
                          f"cuda:LOCAL_RANK), auto or cpu")
    return device


def setup(device_name: str = "auto", timeout_s: float = DEFAULT_TIMEOUT_S) -> torch.device:
    """Join torchrun's process group when launched by it; return this process's device.

    ``timeout_s`` bounds every collective: a rank that stops answering (hung, or busy longer than this,
    e.g. rank 0 validating) ends the others with a :class:`DistributedError` after that long.
    """
    global _world, _control
    launched = launched_world()
    if not launched.active:
        from i2i.accel.device import resolve_device

        return resolve_device(device_name)
    device = _device(device_name, launched.local_rank)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    try:
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s),
                                device_id=device if device.type == "cuda" else None)
        _control = dist.new_group(backend="gloo") if backend != "gloo" else dist.group.WORLD
    except (RuntimeError, ValueError) as exc:
        raise DistributedError(f"cannot join the process group ({backend}, MASTER_ADDR "
                               f"{os.environ.get('MASTER_ADDR', '?')}:{os.environ.get('MASTER_PORT', '?')}): "
                               f"{_first_line(exc)}") from exc
    _world = launched
    return device


def teardown() -> None:
    """Leave the process group after a run that ended normally."""
    global _world, _control
    if dist.is_initialized():
        dist.destroy_process_group()
    _world, _control = World(), None


# --- the networks -----------------------------------------------------------------------------------------

class _AllReduceSum(torch.autograd.Function):
    """The sum over the ranks, differentiable: the gradient of each rank's input is the sum of theirs."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        total = tensor.clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        total = grad.clone()
        dist.all_reduce(total)
        return total


def _synchronised(layer: nn.Module) -> bool:
    """Batch norm over the global batch only while training with running statistics tracked: in the
    inference modes of :func:`i2i.core.components.set_inference_mode` (rank 0 validating alone) it is local."""
    group = getattr(layer, "process_group", None) or dist.group.WORLD
    return (layer.training and layer.track_running_stats and dist.is_available() and dist.is_initialized()
            and dist.get_world_size(group) > 1)


class SyncBatchNorm(nn.SyncBatchNorm):
    """torch's SyncBatchNorm (CUDA), local outside training (see :func:`_synchronised`)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not _synchronised(self):
            return nn.modules.batchnorm._BatchNorm.forward(self, input)
        return super().forward(input)


class CpuSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm over the global batch on the CPU (gloo), where torch's SyncBatchNorm kernels are CUDA-only
    (and DDP refuses them). The statistics are all-reduced with differentiable collectives, in two
    passes (the mean, then the centred sum of squares); local outside training like :class:`SyncBatchNorm`.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not _synchronised(self):
            return super().forward(input)
        dims = [0, *range(2, input.dim())]
        shape = [1, -1] + [1] * (input.dim() - 2)
        x = input.float()
        count = torch.tensor([input.numel() / input.shape[1]], dtype=torch.float32)
        totals = _AllReduceSum.apply(torch.cat([x.sum(dims), count]))
        n = totals[-1].detach()
        mean = totals[:-1] / n
        centred = x - mean.view(shape)
        var = _AllReduceSum.apply((centred * centred).sum(dims)) / n
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        with torch.no_grad():
            self.num_batches_tracked.add_(1)
            factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
            self.running_mean.lerp_(mean, factor)
            self.running_var.lerp_(var * n / (n - 1).clamp(min=1), factor)
        return out.to(input.dtype)


def convert_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` with every batch-norm layer synchronised across the processes (:class:`SyncBatchNorm` on
    CUDA, :class:`CpuSyncBatchNorm` on the CPU); the same parameter objects and state-dict keys."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        cls = CpuSyncBatchNorm if device.type == "cpu" else SyncBatchNorm
        converted = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats)
        if module.affine:
            converted.weight, converted.bias = module.weight, module.bias
        if module.track_running_stats:
            converted.running_mean, converted.running_var = module.running_mean, module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
        converted.train(module.training)
        module = converted
    for name, child in module.named_children():
        setattr(module, name, convert_sync_batchnorm(child, device))
    return module


def data_parallel(module: nn.Module) -> nn.Module:
    """``module`` in DDP when this process is one of several, else ``module`` itself.

    ``broadcast_buffers=False``: D runs twice (fake, real) before one backward, and rank 0's buffers
    broadcast before the second forward would overwrite batch-norm statistics that the first one's
    graph saved. With :class:`SyncBatchNorm` every rank's statistics are the same anyway; without it
    (``--no-sync-bn``) each rank keeps its own running statistics and rank 0's are saved.
    """
    if not _world.active:
        return module
    from torch.nn.parallel import DistributedDataParallel

    device = next(module.parameters()).device
    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None,
                                   **_no_buffer_sync())


def _no_buffer_sync() -> dict[str, bool]:
    """DDP's switch for the per-forward buffer broadcast, under this torch's name for it."""
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    names = inspect.signature(DistributedDataParallel).parameters
    return {"forward_sync_buffers": False} if "forward_sync_buffers" in names else {"broadcast_buffers": False}


def seed_step(seed: int, step: int) -> None:
    """In a distributed run, seed this process's RNG (dropout) from ``(seed, rank, step)`` before a step.

    Each rank then draws its own masks, and a resumed run draws the same ones without saving every
    rank's RNG state. A one-process run keeps its single continuous stream.
    """
    if _world.active:
        from i2i.data.sampling import derive_seed

        torch.manual_seed(derive_seed(seed, "rank", _world.rank, step))


# --- agreement --------------------------------------------------------------------------------------------

def any_rank(flag: bool) -> bool:
    """True on every rank when ``flag`` is true on any (a stop request: all stop after the same step)."""
    if not _world.active:
        return flag
    value = torch.tensor([int(flag)], dtype=torch.int32)
    dist.all_reduce(value, op=dist.ReduceOp.MAX, group=_control)
    return bool(value.item())


def from_main(value: T) -> T:
    """Rank 0's ``value`` on every rank (e.g. a default run path made from the clock)."""
    if not _world.active:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0, group=_control)
    return box[0]


def average(values: dict[str, float]) -> dict[str, float]:
    """The mean of each value over the ranks (the global batch's loss from each shard's)."""
    if not _world.active:
        return values
    tensor = torch.tensor(list(values.values()), dtype=torch.float64)
    dist.all_reduce(tensor, group=_control)
    return dict(zip(values, (tensor / _world.size).tolist()))


def main_process_only(func: Callable[..., T]) -> Callable[..., T | None]:
    """Run ``func`` on rank 0 only (writing the run dir); other ranks get None."""

    @functools.wraps(func)
    def on_rank_zero(*args, **kwargs):
        return func(*args, **kwargs) if _world.is_main else None

    return on_rank_zero


@main_process_only
def print_on_main(*args: Any, **kwargs: Any) -> None:
    """``print`` on rank 0 only."""
    print(*args, **kwargs)


@contextlib.contextmanager
def failing_together(hint: str = "") -> Iterator[None]:
    """One clear error on every rank when one fails.

    A rank whose own code fails leaves its message in the rendezvous store and re-raises it (it exits,
    and its peers' pending collectives break). A rank whose collective breaks or times out raises a
    :class:`DistributedError` naming the failed rank and its message (or saying none came: killed).
    ``hint`` (e.g. how to resume) ends that message.
    """
    if not _world.active:
        yield
        return
    try:
        yield
    except (DistributedError, Interrupted):
        raise
    except Exception as exc:
        if not _is_collective_failure(exc):
            _leave_failure(f"rank {_world.rank} failed: {_first_line(exc)}")
            raise
        text = _read_failure() or (f"another process stopped without a message (killed, crashed or hung): "
                                   f"{_first_line(exc)}")
        raise DistributedError(f"{text}; rank {_world.rank} of {_world.size} stops too{hint}") from None


def _is_collective_failure(exc: BaseException) -> bool:
    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(
        mark in text for mark in ("gloo", "Gloo", "NCCL", "Connection closed", "Connection reset", "Timed out",
                                  "timed out", "ProcessGroup"))


def _store():
    return dist.distributed_c10d._get_default_store()


def _leave_failure(message: str) -> None:
    with contextlib.suppress(Exception):
        _store().compare_set(_FAILURE_KEY, "", message)


def _read_failure() -> str | None:
    with contextlib.suppress(Exception):
        store = _store()
        if store.check([_FAILURE_KEY]):
            return store.get(_FAILURE_KEY).decode()
    return None


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


# --- launching on one machine -----------------------------------------------------------------------------

def launch_local(nproc: int, args: list[str]) -> None:
    """Run ``python -m i2i ARGS`` in ``nproc`` processes on this machine through torchrun's elastic agent.

    The same as ``torchrun --standalone --nproc-per-node NPROC -m i2i ARGS``: a c10d rendezvous on a free
    local port, no restarts. Ctrl-C reaches every process (they stop together after one step and rank 0
    saves); a failed process ends the others, and its own error line is the one to read.
    """
    import logging
    import signal
    import sys
    import uuid

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    if nproc < 1:
        raise ConfigError(f"--nproc must be at least 1, got {nproc}")
    if launched_world().active:
        raise ConfigError("--nproc starts the processes itself: leave it out under torchrun")
    # As torchrun does: the machine's cores shared among the processes, not every process using them all.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    for name in list(logging.root.manager.loggerDict):  # the agent's notices; the processes say what matters
        if name.startswith("torch.distributed.elastic"):
            logging.getLogger(name).setLevel(logging.ERROR)
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=str(uuid.uuid4()),
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)}
    try:
        elastic_launch(config, sys.executable)("-m", "i2i", *args)
    except SignalException as exc:  # the processes were told to stop; rank 0 said what it saved
        raise SystemExit(128 + int(exc.sigval)) from None
    except ChildFailedError as exc:  # the failed process printed its error
        rank, failure = exc.get_first_failure()
        print(f"i2i: training process {rank} of {nproc} failed (exit code {failure.exitcode})",
              file=sys.stderr, flush=True)
        raise SystemExit(failure.exitcode if failure.exitcode > 0 else 1) from None
    finally:  # the agent installs its own handlers; a caller in the same process (the Python API) keeps its own
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
