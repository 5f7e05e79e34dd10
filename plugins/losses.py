"""The paper's objective terms (L1, GAN, cGAN), squared error (L2) and common GAN flavours (LSGAN, hinge, the
port's WGAN-GP)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from i2i.api import LossTerm, StepTensors


class L1Loss(LossTerm):
    """``weight * mean |y - G(x)|``; the paper uses weight (lambda) 100."""

    def generator_loss(self, step: StepTensors) -> torch.Tensor:
        return self.weight * F.l1_loss(step.fake_b.float(), step.real_b.float())


class L2Loss(LossTerm):
    """``weight * mean (y - G(x))^2``: not in the paper; the mean it converges to is what PSNR rewards."""

    def generator_loss(self, step: StepTensors) -> torch.Tensor:
        return self.weight * F.mse_loss(step.fake_b.float(), step.real_b.float())


class GANLoss(LossTerm):
    """BCE GAN loss with D seeing only the output; non-saturating for G; D's loss halved."""

    adversarial = True
    conditional = False

    def d_input(self, step: StepTensors, image: torch.Tensor) -> torch.Tensor:
        """What D sees for ``image``: it, concatenated after the input when conditional."""
        return torch.cat([step.real_a, image], dim=1) if self.conditional else image

    def judge(self, step: StepTensors, image: torch.Tensor) -> torch.Tensor:
        """D's logits for ``image``."""
        return step.discriminator(self.d_input(step, image))

    def real_fake_losses(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (
            F.binary_cross_entropy_with_logits(real.float(), torch.ones_like(real, dtype=torch.float32)),
            F.binary_cross_entropy_with_logits(fake.float(), torch.zeros_like(fake, dtype=torch.float32)),
        )

    def generator_target_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(fake.float(), torch.ones_like(fake, dtype=torch.float32))

    def discriminator_losses(self, step: StepTensors) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        # Real and fake go through D in separate calls, as in the paper's code.
        fake = self.judge(step, step.fake_b.detach())
        real = self.judge(step, step.real_b)
        loss_real, loss_fake = self.real_fake_losses(real, fake)
        return 0.5 * (loss_real + loss_fake), {"real": loss_real, "fake": loss_fake}

    def discriminator_loss(self, step: StepTensors) -> torch.Tensor:
        return self.discriminator_losses(step)[0]

    def generator_loss(self, step: StepTensors) -> torch.Tensor:
        return self.weight * self.generator_target_loss(self.judge(step, step.fake_b))


class ConditionalGANLoss(GANLoss):
    """BCE GAN loss with D seeing the input and the output (the paper's cGAN)."""

    conditional = True


class LSGANLoss(ConditionalGANLoss):
    """Least-squares conditional GAN loss (Mao et al. 2017): MSE to 1 for real, 0 for fake."""

    def real_fake_losses(self, real, fake):
        return ((real.float() - 1) ** 2).mean(), (fake.float() ** 2).mean()

    def generator_target_loss(self, fake):
        return ((fake.float() - 1) ** 2).mean()


class HingeGANLoss(ConditionalGANLoss):
    """Hinge conditional GAN loss (Lim & Ye 2017): relu(1 - D(real)) + relu(1 + D(fake)); G: -D(fake)."""

    def real_fake_losses(self, real, fake):
        return F.relu(1 - real.float()).mean(), F.relu(1 + fake.float()).mean()

    def generator_target_loss(self, fake):
        return -fake.float().mean()


class WGANGPLoss(ConditionalGANLoss):
    """WGAN-GP as the PyTorch port defines it (its GANLoss 'wgangp' and cal_gradient_penalty): D's loss
    ``0.5 * (-mean D(x, y) + mean D(x, G(x)))`` plus ``lambda_gp * (|grad D(mixed)|_2 - 1)^2`` (lambda_gp 10)
    on per-sample random mixes of D's real and fake inputs; G's GAN loss ``-mean D(x, G(x))``.

    The penalty differentiates D's gradient (double backward); D's logits are critic scores, not probabilities.
    """

    lambda_gp = 10.0
    constant = 1.0  # the port's target gradient norm

    @classmethod
    def info(cls) -> dict:
        """Facts for ``i2i info``."""
        return {"gradient_penalty": f"{cls.lambda_gp:g} * (|grad D(mixed)|_2 - {cls.constant:g})^2, mixed = "
                                    f"u*real + (1-u)*fake per sample (the port's 'mixed' type)",
                "needs": "double backward through D (create_graph); use with --loss l1+wgangp"}

    def real_fake_losses(self, real, fake):
        return -real.float().mean(), fake.float().mean()

    def generator_target_loss(self, fake):
        return -fake.float().mean()

    def discriminator_loss(self, step: StepTensors) -> torch.Tensor:
        return super().discriminator_loss(step) + self.gradient_penalty(step)

    def gradient_penalty(self, step: StepTensors) -> torch.Tensor:
        """The port's 'mixed' penalty: one uniform weight per sample mixes the real and the fake D input."""
        real, fake = self.d_input(step, step.real_b), self.d_input(step, step.fake_b.detach())
        alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
        mixed = (alpha * real.float() + (1 - alpha) * fake.float()).requires_grad_(True)
        (gradient,) = torch.autograd.grad(step.discriminator(mixed).float().sum(), mixed, create_graph=True)
        norms = (gradient.flatten(1) + 1e-16).norm(2, dim=1)
        return self.lambda_gp * ((norms - self.constant) ** 2).mean()
