"""The CPU GEMM form of convolutions: same maths and gradients as PyTorch's kernels."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck, gradgradcheck

from i2i.accel import cpu_conv
from i2i.accel.cpu_conv import SmallConvGemm


@pytest.mark.parametrize("bias", [False, True])
def test_gemm_convolutions_match_pytorch_and_pass_gradcheck(bias):
    # fast_mode checks the Jacobian through random projections (the full one took 30-70 s on 2 busy cores);
    # gradgradcheck covers the graph-building backward that gradient penalties use.
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 5, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(4, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True) if bias else None
    conv = lambda x, w, b: cpu_conv._ConvGemm.apply(x, w, b, (2, 2), (1, 1), torch.float64)  # noqa: E731
    assert torch.allclose(conv(x, weight, b), F.conv2d(x, weight, b, 2, 1))
    assert gradcheck(conv, (x, weight, b), fast_mode=True)
    assert gradgradcheck(conv, (x, weight, b), fast_mode=True)

    y = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    wt = torch.randn(4, 3, 4, 4, dtype=torch.float64, requires_grad=True)  # (in, out, kh, kw)
    deconv = lambda y, w, b: cpu_conv._ConvTransposeGemm.apply(y, w, b, (2, 2), (1, 1), torch.float64)  # noqa: E731
    bt = b[:3] if bias else None
    assert torch.allclose(deconv(y, wt, bt), F.conv_transpose2d(y, wt, bt, 2, 1))
    assert gradcheck(deconv, (y, wt, bt), fast_mode=True)
    assert gradgradcheck(deconv, (y, wt, bt), fast_mode=True)


def test_mode_takes_the_gemm_path_for_big_weights_only(monkeypatch):
    calls = []
    real = cpu_conv._small_conv_gemm
    monkeypatch.setattr(cpu_conv, "_small_conv_gemm", lambda *a: calls.append(1) or real(*a))
    torch.manual_seed(0)
    big = torch.nn.Conv2d(512, 512, 4, 2, 1)  # 4.2M weights at 2x2 outputs: the U-Net's inner layers
    x = torch.randn(1, 512, 4, 4, requires_grad=True)
    expected = big(x)
    expected.square().sum().backward()
    grads = x.grad.clone(), big.weight.grad.clone()
    x.grad = big.weight.grad = big.bias.grad = None
    with SmallConvGemm():
        got = big(x)
    got.square().sum().backward()
    assert calls and torch.allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert torch.allclose(x.grad, grads[0], rtol=1e-4, atol=1e-4)
    assert torch.allclose(big.weight.grad, grads[1], rtol=1e-4, atol=1e-4)

    small = torch.nn.Conv2d(3, 8, 4, 2, 1)
    image = torch.randn(1, 3, 8, 8)
    with SmallConvGemm():
        assert torch.equal(small(image), F.conv2d(image, small.weight, small.bias, 2, 1))  # PyTorch's kernel


def test_bf16_gemm_tracks_fp32_and_cached_weights_serve_inference():
    torch.manual_seed(0)
    up = torch.nn.ConvTranspose2d(1024, 512, 4, 2, 1).requires_grad_(False)
    x = torch.randn(1, 1024, 2, 2)
    expected = up(x)
    mode = SmallConvGemm(cache_weights=True)
    for _ in range(2):  # the second call uses the cached bf16 weight matrix
        with mode, torch.autocast("cpu", dtype=torch.bfloat16):
            got = up(x)
        assert got.dtype == torch.bfloat16
        assert (got.float() - expected).abs().max() <= 0.02 * expected.abs().max()


@pytest.mark.parametrize("module", [torch.nn.Conv2d(512, 512, 4, 2, 1), torch.nn.ConvTranspose2d(512, 256, 4, 2, 1)])
def test_gradient_penalty_double_backward_matches_pytorch(monkeypatch, module):
    """WGAN-GP's penalty differentiates a gradient: the GEMM path's backward must build a graph for it."""
    calls = []
    real = cpu_conv._small_conv_gemm
    monkeypatch.setattr(cpu_conv, "_small_conv_gemm", lambda *a: calls.append(1) or real(*a))
    torch.manual_seed(0)
    x = torch.randn(1, 512, 4, 4)

    def penalty_grads():
        points = x.clone().requires_grad_(True)
        out = module(points)
        grad, = torch.autograd.grad(out.square().sum(), points, create_graph=True)
        module.zero_grad(set_to_none=True)
        ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean().backward()
        return module.weight.grad.clone(), module.bias.grad.clone()

    expected = penalty_grads()
    with SmallConvGemm():
        got = penalty_grads()
    assert calls, "the forward took PyTorch's kernel: make the layer reach the GEMM path"
    for g, e in zip(got, expected):
        assert torch.allclose(g, e, rtol=1e-4, atol=2e-5 * e.abs().max())  # float sums in another order
