"""The paper's objective terms (L1, GAN, cGAN) and two common GAN flavours (LSGAN, hinge)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from i2i.components import LossTerm, StepTensors


class L1Loss(LossTerm):
    """``weight * mean |y - G(x)|``; the paper uses weight (lambda) 100."""

    def generator_loss(self, step: StepTensors) -> torch.Tensor:
        return self.weight * F.l1_loss(step.fake_b.float(), step.real_b.float())


class GANLoss(LossTerm):
    """BCE GAN loss with D seeing only the output; non-saturating for G; D's loss halved."""

    adversarial = True
    conditional = False

    def judge(self, step: StepTensors, image: torch.Tensor) -> torch.Tensor:
        """D's logits for ``image`` (concatenated after the input when conditional)."""
        if self.conditional:
            image = torch.cat([step.real_a, image], dim=1)
        return step.discriminator(image)

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
