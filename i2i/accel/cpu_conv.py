"""Small convolutions on the CPU as one matrix product (used by the trainer and the translator).

oneDNN runs the U-Net's inner layers (512-1024 channels at 1x1 to 16x16 pixels: 4M-8M-weight layers with
a few dozen output positions) at a few GFLOP/s: it re-lays out the whole weight for every call. As one
GEMM over unfolded patches (im2col; col2im for the transposed conv, as ``slow_conv_transpose2d`` does it)
the same sums run 2-5x faster, forward and backward, in fp32 and bf16 (bench/RESULTS.md). Same maths in
another order of the float sums: fp32 results agree to ~1e-7 relative. bf16 products accumulate in fp32
(as oneDNN's do) and the overlapping col2im sums are taken in fp32 too. Only inside ``SmallConvGemm``:
plain module calls, exports and ``torch.compile`` keep PyTorch's kernels. A backward pass that builds a
graph (``create_graph=True``: gradient penalties) computes its gradients with PyTorch's differentiable
kernels instead, so double backward works.

``--cpu-gemm/--no-cpu-gemm`` (or ``I2I_CPU_GEMM=1/0``) turns it on or off; by default (``auto``) it is on
for CPU devices: it measured faster at the sizes it takes on AVX2-only and AVX-512 CPUs alike.
"""

from __future__ import annotations

import os
import threading

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils.weak import WeakIdKeyDictionary

from i2i.core.errors import ConfigError

GEMM_MIN_WEIGHT = 1 << 20           # weights of at least this many elements (oneDNN's cost is their re-layout)
# Positions per image up to which the GEMM is faster (measured on 2-core AVX-512 (fp32, bf16) and AVX2-only
# (fp32) CPUs, the same crossovers on both: bench/RESULTS.md): (conv: output h*w, transposed conv: input
# h*w), when a backward pass follows / for a forward alone.
GEMM_MAX_POSITIONS_TRAIN = (64, 256)
GEMM_MAX_POSITIONS_FORWARD = (16, 64)
ENV_SWITCH = "I2I_CPU_GEMM"


def choose_cpu_gemm(setting: bool | None, device: torch.device) -> tuple[bool, str]:
    """Whether ``SmallConvGemm`` runs on ``device``, and why: an explicit ``setting`` (``--cpu-gemm`` /
    ``--no-cpu-gemm``), else ``$I2I_CPU_GEMM`` (1, 0 or auto), else on for CPU devices."""
    if device.type != "cpu":
        return False, f"off: {device.type} device (a CPU path)"
    if setting is not None:
        return setting, "--cpu-gemm" if setting else "--no-cpu-gemm"
    env = os.environ.get(ENV_SWITCH, "auto").strip().lower()
    if env in ("1", "0"):
        return env == "1", f"{ENV_SWITCH}={env}"
    if env != "auto":
        raise ConfigError(f"{ENV_SWITCH}={env!r}: use 1, 0 or auto")
    return True, "auto: faster than oneDNN for big weights at few positions on this CPU"


_plain = threading.local()  # set while a graph-building backward recomputes with PyTorch's kernels


def _differentiable_grads(ctx, grad: torch.Tensor, conv) -> tuple:
    """Input/weight/bias gradients through PyTorch's own ``conv`` (recomputed, in the forward's dtype), as a
    graph: for ``create_graph=True``, where this backward is itself differentiated (gradient penalties)."""
    x, weight, bias = ctx.saved_tensors[-3:]
    dtype, stride, padding = ctx.plain_call
    inputs = [t for t, needed in zip((x, weight, bias), ctx.needs_input_grad) if needed and t is not None]
    _plain.active = True
    try:
        y = conv(x.to(dtype), weight.to(dtype), None if bias is None else bias.to(dtype), stride, padding)
        found = iter(torch.autograd.grad(y, inputs, grad.to(y.dtype), create_graph=True))
    finally:
        _plain.active = False
    grads = [next(found) if needed and t is not None else None
             for t, needed in zip((x, weight, bias), ctx.needs_input_grad)]
    return (*grads, None, None, None, None)


def _accumulate(t: torch.Tensor) -> torch.Tensor:
    return t.float() if t.dtype in (torch.bfloat16, torch.float16) else t


def _rows(t: torch.Tensor) -> torch.Tensor:
    """(n, C, H, W) -> (n*H*W, C): a view of a channels_last tensor, else a copy."""
    return t.permute(0, 2, 3, 1).reshape(-1, t.shape[1])


def _image(rows: torch.Tensor, n: int, h: int, w: int) -> torch.Tensor:
    """(n*h*w, C) -> (n, C, h, w) in channels_last, a view."""
    return rows.view(n, h, w, -1).permute(0, 3, 1, 2)


def _patches(rows: torch.Tensor, n: int) -> torch.Tensor:
    """(n*L, K) -> (n, K, L), the layout of unfold/fold, a view."""
    return rows.view(n, -1, rows.shape[1]).transpose(1, 2)


def _patch_rows(patches: torch.Tensor) -> torch.Tensor:
    """(n, K, L) -> (n*L, K): a view for n == 1."""
    return patches.transpose(1, 2).reshape(-1, patches.shape[1])


def _weight_matrix(weight: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A conv weight (a, b, kh, kw) as the contiguous (a, b*kh*kw) matrix in ``dtype``."""
    return weight.to(dtype).contiguous().view(weight.shape[0], -1)


def _cached(cache: WeakIdKeyDictionary, weight: torch.Tensor, dtype: torch.dtype, matrix: bool) -> torch.Tensor:
    """``weight`` in ``dtype`` (as a GEMM matrix if ``matrix``) from ``cache``, made on first use. Entries
    also go when the weight's version counter or storage changes, but the fused optimisers update weights
    in place without bumping the version: a cache is only for weights that do not change (inference)."""
    entries = cache.setdefault(weight, {})
    version, key = (weight._version, weight.data_ptr()), (matrix, dtype)
    if key not in entries or entries[key][0] != version:
        plain = weight.detach()
        entries[key] = (version, _weight_matrix(plain, dtype) if matrix else plain.to(dtype))
    return entries[key][1]


class _ConvGemm(torch.autograd.Function):
    """conv2d (groups 1, dilation 1) as unfold + one GEMM, computing in ``dtype``."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dtype, wd=None):
        n, _, h, w = x.shape
        out_ch, _, kh, kw = weight.shape
        ho, wo = (h + 2 * padding[0] - kh) // stride[0] + 1, (w + 2 * padding[1] - kw) // stride[1] + 1
        wd = _weight_matrix(weight, dtype) if wd is None else wd                               # (out, K)
        cols = _patch_rows(F.unfold(x.to(dtype), (kh, kw), padding=padding, stride=stride))     # (n*L, K)
        y = torch.mm(cols, wd.t()) if bias is None else torch.addmm(bias.to(dtype), cols, wd.t())
        ctx.save_for_backward(cols, wd, x, weight, bias)
        ctx.meta = (x.dtype, weight.dtype, (h, w), (kh, kw), stride, padding, bias is not None)
        ctx.plain_call = (dtype, stride, padding)
        return _image(y, n, ho, wo)

    @staticmethod
    def backward(ctx, grad):
        if torch.is_grad_enabled():
            return _differentiable_grads(ctx, grad, F.conv2d)
        return _ConvGemm.gemm_backward(ctx, grad)

    @staticmethod
    def gemm_backward(ctx, grad):
        cols, wd = ctx.saved_tensors[:2]
        x_dtype, w_dtype, size, kernel, stride, padding, has_bias = ctx.meta
        g = _rows(grad.to(wd.dtype))                                                            # (n*L, out)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            patches = _patches(torch.mm(g, wd), grad.shape[0])
            gx = F.fold(_accumulate(patches), size, kernel, padding=padding, stride=stride).to(x_dtype)
        if ctx.needs_input_grad[1]:
            gw = torch.mm(g.t(), cols).to(w_dtype).view(wd.shape[0], -1, *kernel)
        if has_bias and ctx.needs_input_grad[2]:
            gb = grad.float().sum((0, 2, 3)).to(w_dtype)
        return gx, gw, gb, None, None, None, None


class _ConvTransposeGemm(torch.autograd.Function):
    """conv_transpose2d (groups 1, dilation 1, no output padding) as one GEMM + fold, computing in ``dtype``."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dtype, wd=None):
        n, c, h, w = x.shape
        kh, kw = weight.shape[-2:]
        ho, wo = (h - 1) * stride[0] - 2 * padding[0] + kh, (w - 1) * stride[1] - 2 * padding[1] + kw
        xr = _rows(x.to(dtype))                                                                 # (n*hw, c)
        wd = _weight_matrix(weight, dtype) if wd is None else wd                               # (c, K)
        y = F.fold(_accumulate(_patches(torch.mm(xr, wd), n)), (ho, wo), (kh, kw), padding=padding, stride=stride)
        if bias is not None:
            y = y + bias.to(y.dtype).view(1, -1, 1, 1)
        ctx.save_for_backward(xr, wd, x, weight, bias)
        ctx.meta = (x.dtype, weight.dtype, (h, w), (kh, kw), stride, padding, bias is not None)
        ctx.plain_call = (dtype, stride, padding)
        return y.to(dtype)

    @staticmethod
    def backward(ctx, grad):
        if torch.is_grad_enabled():
            return _differentiable_grads(ctx, grad, F.conv_transpose2d)
        return _ConvTransposeGemm.gemm_backward(ctx, grad)

    @staticmethod
    def gemm_backward(ctx, grad):
        xr, wd = ctx.saved_tensors[:2]
        x_dtype, w_dtype, (h, w), kernel, stride, padding, has_bias = ctx.meta
        gcols = _patch_rows(F.unfold(grad.to(wd.dtype), kernel, padding=padding, stride=stride))  # (n*hw, K)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = _image(torch.mm(gcols, wd.t()), grad.shape[0], h, w).to(x_dtype)
        if ctx.needs_input_grad[1]:
            gw = torch.mm(xr.t(), gcols).to(w_dtype).view(wd.shape[0], -1, *kernel)
        if has_bias and ctx.needs_input_grad[2]:
            gb = grad.float().sum((0, 2, 3)).to(w_dtype)
        return gx, gw, gb, None, None, None, None


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


_CONV_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_CONV_DEFAULTS = (None, None, None, 1, 0, 1, 1)
_DECONV_ARGS = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation")
_DECONV_DEFAULTS = (None, None, None, 1, 0, 0, 1, 1)


def _conv_arguments(func, args: tuple, kwargs: dict) -> dict:
    names, defaults = (_DECONV_ARGS, _DECONV_DEFAULTS) if func is F.conv_transpose2d else (_CONV_ARGS, _CONV_DEFAULTS)
    given = {**dict(zip(names, args)), **kwargs}
    return {name: given.get(name, default) for name, default in zip(names, defaults)}


def _small_conv_gemm(deconv: bool, a: dict, dtype: torch.dtype, cache: WeakIdKeyDictionary | None) -> torch.Tensor | None:
    """The GEMM form of a ``conv2d`` / ``conv_transpose2d`` call where it is faster, else None."""
    x, weight, padding = a["input"], a["weight"], a["padding"]
    if (weight.numel() < GEMM_MIN_WEIGHT or x.dim() != 4 or a["groups"] != 1 or isinstance(padding, str)
            or _pair(a["dilation"]) != (1, 1) or _pair(a.get("output_padding", 0)) != (0, 0)):
        return None
    stride, padding = _pair(a["stride"]), _pair(padding)
    (h, w), (kh, kw) = x.shape[-2:], weight.shape[-2:]
    training = torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)
    max_conv, max_deconv = GEMM_MAX_POSITIONS_TRAIN if training else GEMM_MAX_POSITIONS_FORWARD
    if deconv:
        if h * w > max_deconv:
            return None
    elif ((h + 2 * padding[0] - kh) // stride[0] + 1) * ((w + 2 * padding[1] - kw) // stride[1] + 1) > max_conv:
        return None
    matrix = None if cache is None else _cached(cache, weight, dtype, matrix=True)
    return (_ConvTransposeGemm if deconv else _ConvGemm).apply(x, weight, a["bias"], stride, padding, dtype, matrix)


class SmallConvGemm(TorchFunctionMode):
    """Within this mode, CPU ``conv2d``/``conv_transpose2d`` calls with big weights and few positions run as
    one GEMM. Works for any network (it sees the functional calls that ``nn.Conv2d`` and
    ``nn.ConvTranspose2d`` make), with or without bf16 autocast; parameters and state dicts are untouched.
    A backward with ``create_graph=True`` (double backward) recomputes through PyTorch's kernels.

    ``cache_weights``: for inference with weights that stay fixed while this object lives (a translator):
    weights that get no gradient are cast (under autocast) and laid out once, on first use, instead of on
    every call. Enter the same object for every forward pass. Never while training: fused optimisers change
    weights in place without a sign a cache could see.
    """

    def __init__(self, cache_weights: bool = False) -> None:
        super().__init__()
        self.cache = WeakIdKeyDictionary() if cache_weights else None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if (func is not F.conv2d and func is not F.conv_transpose2d) or torch.jit.is_tracing() \
                or torch.compiler.is_compiling() or getattr(_plain, "active", False):
            return func(*args, **kwargs)
        a = _conv_arguments(func, args, kwargs)
        x, weight, bias = a["input"], a["weight"], a["bias"]
        dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype
        if (x.device.type != "cpu" or weight.device.type != "cpu" or dtype not in (torch.float32, torch.bfloat16)
                or x.dtype not in (torch.float32, torch.bfloat16)):
            return func(*args, **kwargs)
        frozen = not (torch.is_grad_enabled() and (weight.requires_grad or (bias is not None and bias.requires_grad)))
        cache = self.cache if frozen else None
        out = _small_conv_gemm(func is F.conv_transpose2d, a, dtype, cache)
        if out is not None:
            return out
        if cache is not None and weight.dtype != dtype:
            a["weight"] = _cached(cache, weight, dtype, matrix=False)
            a["bias"] = None if bias is None else _cached(cache, bias, dtype, matrix=False)
            a["input"] = x.to(dtype)
            return func(**a)
        return func(*args, **kwargs)
