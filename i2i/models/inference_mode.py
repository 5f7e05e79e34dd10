"""Which inference mode fits how a generator was trained, and a warning when a chosen one does not.

Paper mode normalises each forward pass with the statistics of the images in it. That is what the
network trained with only when it trained at batch size 1 (one image per pass, like translating one
image); trained at batch size N > 1, one image's statistics differ from the N-image ones it learnt
with (at 64 px the inner U-Net layers are 1×1 to 2×2, so one image has almost no statistics at all),
and outputs can break down: a colorization model trained at batch 4 scored 15.0 dB in paper mode
against 18.8 dB in eval mode and 18.7 dB for the grey input itself (issue 16; bench/QUALITY.md has a
half-width model where the two modes stayed within 1 dB). Eval mode uses the running statistics
collected in training, which fit any batch size. Without batch norm the two modes differ only in
dropout, and the paper's mode stays the default.
"""

from __future__ import annotations

import sys

from torch import nn

MODES = ("paper", "eval")


def has_batch_norm(generator: nn.Module) -> bool:
    """Whether any layer of ``generator`` normalises over the batch."""
    return any(isinstance(module, nn.modules.batchnorm._BatchNorm) for module in generator.modules())


def recommended_mode(batch_size: int, batch_norm: bool = True) -> tuple[str, str]:
    """``(mode, reason)``: ``paper`` for batch size 1 or no batch norm, else ``eval``."""
    if not batch_norm:
        return "paper", "the generator has no batch norm, so paper mode (dropout on) sees what training saw"
    if batch_size == 1:
        return "paper", ("trained at batch size 1: one image's batch statistics are the ones it trained with, "
                         "so the paper's test mode applies")
    return "eval", (f"trained at batch size {batch_size}: one image's batch statistics are not the "
                    f"{batch_size}-image ones it trained with, so the running statistics are used")


def mismatch_warning(mode: str, batch_size: int | None, batch_norm: bool = True) -> str | None:
    """A one-line warning when ``mode`` does not fit training at ``batch_size`` (None: unknown, no warning)."""
    if batch_size is None:
        return None
    recommended, reason = recommended_mode(batch_size, batch_norm)
    if mode == recommended:
        return None
    return f"i2i: warning: --mode {mode} does not fit this model ({reason}); {recommended} mode would"


def choose_inference_mode(config, batch_norm: bool) -> None:
    """Set a training config's ``inference_mode`` (when not chosen) and ``inference_mode_reason``; a chosen
    mode that does not fit the training prints one warning line. A resumed run keeps what it recorded."""
    if config.inference_mode_reason is not None:
        return  # chosen when the run started (a resumed run keeps it)
    # batch norm sees the global batch with SyncBatchNorm, each process's share without it
    batch = config.global_batch_size if config.world_size > 1 and config.sync_bn else config.batch_size
    recommended, reason = recommended_mode(batch, batch_norm)
    if config.inference_mode is None:
        config.inference_mode, config.inference_mode_reason = recommended, reason
        return
    config.inference_mode_reason = f"--mode {config.inference_mode} chosen in training"
    if config.inference_mode != recommended:
        print(mismatch_warning(config.inference_mode, batch, batch_norm), file=sys.stderr, flush=True)
        config.inference_mode_reason += f", although {reason}"
