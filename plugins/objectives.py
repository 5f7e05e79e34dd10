"""Registers the paper's objective terms. Targets are lazy strings: registering imports no torch."""

from i2i.api import hookimpl


@hookimpl
def register_losses(register):
    register("l1", "i2i_plugins.losses:L1Loss", description="L1 distance to the target; weight --lambda-l1 (the paper: 100) or W in --loss l1:W")
    register("l2", "i2i_plugins.losses:L2Loss",
             description="Squared error to the target (not in the paper): for per-pixel fidelity (PSNR); "
                         "weight W in --loss l2:W, default 1")
    register("gan", "i2i_plugins.losses:GANLoss",
             description="Unconditional GAN loss: D sees only the output (BCE, non-saturating G)")
    register("cgan", "i2i_plugins.losses:ConditionalGANLoss",
             description="Conditional GAN loss: D sees input and output (BCE, non-saturating G)")
    register("lsgan", "i2i_plugins.losses:LSGANLoss",
             description="Least-squares conditional GAN loss (not in the paper; Mao et al. 2017)")
    register("hinge", "i2i_plugins.losses:HingeGANLoss",
             description="Hinge conditional GAN loss (not in the paper; Lim & Ye 2017)")
    register("wgangp", "i2i_plugins.losses:WGANGPLoss",
             description="WGAN-GP conditional loss as the PyTorch port defines it (gradient penalty 10; "
                         "not in the paper)")
