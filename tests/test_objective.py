"""The training step against the paper's maths written out in plain torch, and the objective's composition."""

import copy

import pytest
import torch
import torch.nn.functional as F

from i2i.core.components import StepTensors
from i2i.core.errors import ConfigError
from i2i.core.plugin_manager import get_registry
from i2i.training.config import TrainConfig
from i2i.training.objective import Objective, format_loss_spec, parse_loss_spec
from i2i.training.run import build_networks
from i2i.training.schedule import lr_factor
from i2i.training.step import PairTrainer

CPU = torch.device("cpu")
LR, BETAS, LAMBDA = 2e-4, (0.5, 0.999), 100.0
ALL_LOSSES = ["l1", "gan", "cgan", "l1+gan", "l1+cgan", "lsgan", "hinge", "l1+lsgan", "l1+hinge"]


def tiny_networks(loss: str, dropout: float = 0.0, in_channels: int = 3, out_channels: int = 3, seed: int = 0,
                  ngf: int = 8, discriminator: str = "patch16", ndf: int = 8):
    """A 5-level U-Net (32 px) and (by default) a 16x16 PatchGAN with few channels, built as training builds them."""
    config = TrainConfig(task="demo", loss=loss, crop_size=32, load_size=32, in_channels=in_channels,
                         out_channels=out_channels, generator_args={"ngf": ngf, "dropout": dropout},
                         discriminator=discriminator, discriminator_args={"ndf": ndf})
    registry = get_registry()
    objective = Objective.build(loss, registry, LAMBDA)
    torch.manual_seed(seed)
    generator, discriminator = build_networks(config, objective, registry)
    return objective, generator, discriminator


def batches(count: int, size: int = 32, n: int = 2, in_channels: int = 3, out_channels: int = 3):
    generator = torch.Generator().manual_seed(1)
    return [(torch.rand(n, in_channels, size, size, generator=generator) * 2 - 1,
             torch.rand(n, out_channels, size, size, generator=generator) * 2 - 1) for _ in range(count)]


# --- the reference: the paper's step, written out ------------------------------------------------------

def adversarial_losses(flavour: str):
    """(D's losses on real and on fake logits, G's loss on fake logits) per GAN flavour; D minimises their mean."""
    if flavour in ("gan", "cgan"):
        def bce(logits, target):
            return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))
        return (lambda real, fake: (bce(real, 1.0), bce(fake, 0.0))), (lambda fake: bce(fake, 1.0))
    if flavour == "lsgan":
        return (lambda real, fake: (((real - 1) ** 2).mean(), (fake ** 2).mean())), \
            (lambda fake: ((fake - 1) ** 2).mean())
    assert flavour == "hinge"
    return (lambda real, fake: (F.relu(1 - real).mean(), F.relu(1 + fake).mean())), \
        (lambda fake: -fake.mean())


class ReferenceStep:
    """Isola et al.: D step on (x, y) and (x, G(x).detach()) in separate D calls, then G's step through the
    updated D; Adam(2e-4, 0.5, 0.999) for both; lambda 100 on L1. ``gan``: D sees the output only."""

    def __init__(self, loss: str, generator, discriminator):
        terms = loss.split("+")
        self.l1, self.l2 = "l1" in terms, "l2" in terms
        self.flavour = next((t for t in terms if t not in ("l1", "l2")), None)
        self.generator, self.discriminator = generator, discriminator
        self.opt_g = torch.optim.Adam(generator.parameters(), lr=LR, betas=BETAS)
        self.opt_d = torch.optim.Adam(discriminator.parameters(), lr=LR, betas=BETAS) if self.flavour else None
        self.d_grads = None

    def judge(self, x, image):
        return self.discriminator(image if self.flavour == "gan" else torch.cat([x, image], 1))

    def __call__(self, x, y) -> dict[str, float]:
        losses = {}
        fake = self.generator(x)
        g_total = 0.0
        if self.flavour:
            d_objective, g_objective = adversarial_losses(self.flavour)
            self.discriminator.requires_grad_(True)
            pred_fake = self.judge(x, fake.detach())
            pred_real = self.judge(x, y)
            d_real, d_fake = d_objective(pred_real, pred_fake)
            d_loss = 0.5 * (d_real + d_fake)
            self.opt_d.zero_grad()
            d_loss.backward()
            self.opt_d.step()
            self.d_grads = [p.grad.clone() for p in self.discriminator.parameters()]
            losses["loss_d"] = d_loss.item()
            losses["loss_d_real"], losses["loss_d_fake"] = d_real.item(), d_fake.item()
            self.discriminator.requires_grad_(False)
            g_gan = g_objective(self.judge(x, fake))  # through the updated D
            losses[f"loss_g_{self.flavour}"] = g_gan.item()
            g_total = g_gan
        if self.l1:
            g_l1 = LAMBDA * (fake - y).abs().mean()
            losses["loss_g_l1"] = g_l1.item()
            g_total = g_total + g_l1
        if self.l2:
            g_l2 = ((fake - y) ** 2).mean()  # weight 1
            losses["loss_g_l2"] = g_l2.item()
            g_total = g_total + g_l2
        self.opt_g.zero_grad()
        g_total.backward()
        self.opt_g.step()
        losses["loss_g"] = g_total.item()
        return losses


def assert_states_close(module, reference, most: float = 0.05 * LR):
    """Every weight and buffer within ``most`` (default 5% of one Adam step, lr) of the reference, nearly all within
    1e-7, fewer than 1 in 10,000 beyond 5% of lr.

    Both sides do the same maths in a different order of float sums (memory layout, fused Adam), and Adam's
    first steps (``g / (|g| + eps)``) magnify last-bit differences of gradients near eps (weights before a
    batch norm over a handful of values) to a few percent of a step, for a few elements in 100,000.
    """
    ours, theirs = module.state_dict(), reference.state_dict()
    assert ours.keys() == theirs.keys()
    diffs = []
    for name in ours:
        assert ours[name].shape == theirs[name].shape, name
        diff = (ours[name].double() - theirs[name].double()).abs()
        assert diff.max() < most, (name, diff.max().item())
        diffs.append(diff.flatten())
    diffs = torch.cat(diffs)
    assert (diffs > 1e-7).float().mean() < 1e-3
    assert (diffs > 0.05 * LR).float().mean() < 1e-4


def run_both(loss: str, dropout: float = 0.0, steps: int = 3, small_conv_gemm: bool | None = None, **networks):
    """The trainer and the reference from the same initial weights over ``steps`` batches of two pairs."""
    objective, generator, discriminator = tiny_networks(loss, dropout, **networks)
    reference = ReferenceStep(loss, copy.deepcopy(generator),
                              copy.deepcopy(discriminator) if discriminator is not None else None)
    trainer = PairTrainer(generator, discriminator, objective, lr=LR, betas=BETAS, device=CPU,
                          small_conv_gemm=small_conv_gemm)
    for step, (x, y) in enumerate(batches(steps)):
        torch.manual_seed(100 + step)  # the same dropout masks on both sides
        ours = trainer.step(x, y).as_floats()
        torch.manual_seed(100 + step)
        expected = reference(x, y)
        assert ours.keys() == expected.keys()
        for name, value in expected.items():
            assert ours[name] == pytest.approx(value, rel=1e-5, abs=1e-6), (step, name)
    return trainer, reference


@pytest.mark.parametrize("loss", ["l1+cgan", "gan", "l1", "l2+cgan"])
def test_steps_match_the_papers_maths(loss):
    """Three steps from the same weights and data: losses and every weight and BN buffer agree (fp32).

    ``l2+cgan`` (squared error, not in the paper) is the same step with ``mean (y - G(x))^2`` in L1's place."""
    trainer, reference = run_both(loss)
    assert_states_close(trainer.generator, reference.generator)
    if reference.discriminator is not None:
        assert_states_close(trainer.discriminator, reference.discriminator)


@pytest.mark.parametrize("loss", ["l1+cgan", "l1+lsgan", "hinge"])
def test_steps_with_dropout_and_other_gan_flavours_match(loss):
    """Dropout (0.5 in the U-Net's decoder, masks from the same seed) and the LSGAN/hinge flavours."""
    trainer, reference = run_both(loss, dropout=0.5, steps=2)
    assert_states_close(trainer.generator, reference.generator)
    assert_states_close(trainer.discriminator, reference.discriminator)


def test_a_step_through_the_cpu_gemm_path_matches_the_papers_maths(monkeypatch):
    """The CPU GEMM path (:mod:`i2i.accel.cpu_conv`) inside a real step: the smallest networks that reach it (weights
    of at least 2**20 elements: a 32-px U-Net with ngf 32, whose 256-channel inner layers qualify, and the
    paper's 70x70 PatchGAN, ndf 64, whose 256->512 conv does), one step against the plain reference.

    Tolerance: the GEMM sums in another order than oneDNN (~1e-7 relative), and Adam's first step moves each
    weight by about lr * sign(gradient): a gradient within rounding of zero (weights before a batch norm over
    few values) may take either sign, so a few weights may differ by up to 2 x lr (as the port's own fp32 and
    fp64 runs do after one 256-px step). Measured: 42 of G's 4.2 M values beyond 5% of lr (the largest 1.96 x
    lr), 12 of D's 2.8 M; all losses agree to 1e-5 relative, nearly all values within 1e-7, and fewer than
    1 in 10,000 beyond 5% of lr.
    """
    from i2i.accel import cpu_conv

    taken = []
    plain = cpu_conv._small_conv_gemm

    def counting(deconv, *args):
        out = plain(deconv, *args)
        if out is not None:
            taken.append("conv_transpose2d" if deconv else "conv2d")
        return out

    monkeypatch.setattr(cpu_conv, "_small_conv_gemm", counting)
    trainer, reference = run_both("l1+cgan", steps=1, small_conv_gemm=True, ngf=32, discriminator="patch70", ndf=64)
    # G forward: e4 conv, d0 and d1 transposed convs; D: its 256->512 conv, three times (fake, real, G's step).
    assert sorted(taken) == sorted(["conv2d"] + ["conv_transpose2d"] * 2 + ["conv2d"] * 3)
    assert_states_close(trainer.generator, reference.generator, most=2 * LR + 1e-6)
    assert_states_close(trainer.discriminator, reference.discriminator, most=2 * LR + 1e-6)


def test_g_loss_goes_through_the_updated_d():
    """G's adversarial loss is D's verdict after D's update, and that differs measurably from the old D's."""
    objective, generator, discriminator = tiny_networks("l1+cgan")
    old_d = copy.deepcopy(discriminator)
    trainer = PairTrainer(generator, discriminator, objective, lr=LR, betas=BETAS, device=CPU)
    x, y = batches(1)[0]
    result = trainer.step(x, y)
    fake = torch.cat([x, result.fake_b.detach().contiguous()], 1)

    def bce_to_real(d):
        with torch.no_grad():
            logits = d(fake)
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)).item()

    assert result.as_floats()["loss_g_cgan"] == pytest.approx(bce_to_real(trainer.discriminator), rel=1e-5)
    assert result.as_floats()["loss_g_cgan"] != pytest.approx(bce_to_real(old_d), rel=1e-5, abs=1e-6)


def test_generator_step_leaves_no_gradient_in_d():
    """After a step D's .grad are exactly what D's own loss gave, although G's loss reaches D's parameters."""
    objective, generator, discriminator = tiny_networks("l1+cgan")
    reference = ReferenceStep("l1+cgan", copy.deepcopy(generator), copy.deepcopy(discriminator))
    trainer = PairTrainer(generator, discriminator, objective, lr=LR, betas=BETAS, device=CPU)
    x, y = batches(1)[0]
    trainer.step(x, y)
    reference(x, y)
    for ours, expected in zip(trainer.discriminator.parameters(), reference.d_grads):
        torch.testing.assert_close(ours.grad, expected, rtol=1e-4, atol=1e-7)
    # G's adversarial loss does depend on D's weights: had it been backpropagated into D, .grad would differ.
    d = copy.deepcopy(reference.discriminator).requires_grad_(True)
    logits = d(torch.cat([x, reference.generator(x)], 1))
    F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)).backward()
    assert max(p.grad.abs().max().item() for p in d.parameters()) > 1e-3


@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_every_loss_combination_trains_a_step(loss):
    """Each combination builds, D's conditioning follows the adversarial term, and a step gives finite losses."""
    objective, generator, discriminator = tiny_networks(loss, in_channels=1, out_channels=3)
    terms = [name for name, _ in parse_loss_spec(loss)]
    adversarial = [t for t in terms if t != "l1"]
    if not adversarial:
        assert discriminator is None and objective.adversarial is None
    else:
        conditional = adversarial[0] != "gan"
        assert objective.adversarial.conditional is discriminator.conditional is conditional
        assert discriminator.input_channels == (1 + 3 if conditional else 3)
    trainer = PairTrainer(generator, discriminator, objective, lr=LR, betas=BETAS, device=CPU)
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    losses = trainer.step(*batches(1, in_channels=1, out_channels=3)[0]).as_floats()
    expected = {"loss_g", *(f"loss_g_{t}" for t in terms)} | ({"loss_d", "loss_d_real", "loss_d_fake"} if adversarial else set())
    assert set(losses) == expected
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters()))


def test_loss_specs_are_checked():
    registry = get_registry()
    assert [type(t).__name__ for t in Objective.build("l1+cgan", registry).terms.values()] == \
        ["L1Loss", "ConditionalGANLoss"]
    assert Objective.build("l1+cgan", registry, 10.0).terms["l1"].weight == 10.0
    assert Objective.build("l1+cgan", registry, 10.0).terms["cgan"].weight == 1.0
    for spec, message in [("l1+cgan+gan", "more than one adversarial"), ("l1+lsgan+hinge", "more than one"),
                          ("l1+l1", "appears twice"), ("l1+", "names joined by"), ("", "names joined"),
                          ("l1:100+l1:5", "appears twice"), (":3+cgan", "names joined"),
                          ("l1:-1+cgan", "must be a number >= 0"), ("l1:x+cgan", "not 'x'"),
                          ("l1:nan", "must be a number"), ("l1:inf+cgan", "must be a number")]:
        with pytest.raises(ConfigError, match=message):
            Objective.build(spec, registry)


def test_every_term_takes_its_own_weight():
    """``name:weight`` weights any term; a term without one keeps the default (lambda_l1 for l1, else 1)."""
    registry = get_registry()
    weights = {name: term.weight for name, term in Objective.build("l1:50 + cgan:0.5", registry).terms.items()}
    assert weights == {"l1": 50.0, "cgan": 0.5}
    assert Objective.build("l1+lsgan:2", registry, 10.0).terms["l1"].weight == 10.0
    assert Objective.build("l1+lsgan:2", registry, 10.0).terms["lsgan"].weight == 2.0
    assert parse_loss_spec("l1:100+cgan") == [("l1", 100.0), ("cgan", None)]
    assert format_loss_spec(parse_loss_spec(" l1 : 100 + cgan:0.25")) == "l1:100+cgan:0.25"
    x, y = batches(1)[0]
    generator = torch.nn.Conv2d(3, 3, 1)
    step = StepTensors(x, y, generator(x).detach())
    plain = Objective.build("l1", registry).generator_loss(step)[0]
    assert torch.allclose(Objective.build("l1:3", registry).generator_loss(step)[0], plain * 0.03)


def test_the_l1_weight_is_recorded_once():
    """The run's lambda_l1 is the weight --loss gives l1; --lambda-l1 may repeat it but not contradict it."""
    task = get_registry().resolve("tasks", "demo")
    assert TrainConfig.from_task(task, loss="l1:20+cgan").lambda_l1 == 20.0
    assert TrainConfig.from_task(task, loss="l1:20+cgan", lambda_l1=20.0).lambda_l1 == 20.0
    assert TrainConfig.from_task(task, loss="l1+cgan:2", lambda_l1=7.0).lambda_l1 == 7.0
    assert TrainConfig.from_task(task).lambda_l1 == 100.0
    with pytest.raises(ConfigError, match="give it once"):
        TrainConfig.from_task(task, loss="l1:20+cgan", lambda_l1=30.0)


def test_lr_schedule_is_constant_then_linear_decay():
    """The port's rule, per 0-based epoch: 1 - max(0, e + 1 - epochs) / (epochs_decay + 1)."""
    assert [lr_factor(e, 3, 0) for e in range(3)] == [1.0, 1.0, 1.0]
    assert [lr_factor(e, 2, 3) for e in range(5)] == pytest.approx([1.0, 1.0, 0.75, 0.5, 0.25])
    assert [lr_factor(e, 100, 100) for e in (0, 99, 100, 149, 199)] == \
        pytest.approx([1.0, 1.0, 1 - 1 / 101, 1 - 50 / 101, 1 - 100 / 101])
    assert lr_factor(0, 0, 1) == pytest.approx(0.5)
    objective, generator, discriminator = tiny_networks("l1+cgan")
    trainer = PairTrainer(generator, discriminator, objective, lr=LR, betas=BETAS, device=CPU)
    assert trainer.set_lr_factor(lr_factor(3, 2, 3)) == pytest.approx(LR * 0.5)
    lrs = [group["lr"] for opt in (trainer.opt_g, trainer.opt_d) for group in opt.param_groups]
    assert lrs == pytest.approx([LR * 0.5] * 2)
