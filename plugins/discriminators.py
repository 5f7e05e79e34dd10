"""Registers the paper's discriminators. Targets are lazy strings: registering imports no torch."""

from i2i.api import hookimpl


@hookimpl
def register_discriminators(register):
    register("pixel", "i2i_plugins.patchgan:PixelDiscriminator", aliases=("pixelgan", "1x1"),
             description="PixelGAN: 1x1 receptive field, judges colour per pixel")
    register("patch16", "i2i_plugins.patchgan:Patch16Discriminator", aliases=("16x16",),
             description="PatchGAN with a 16x16 receptive field (1 layer)")
    register("patch70", "i2i_plugins.patchgan:Patch70Discriminator", aliases=("patchgan", "70x70", "basic"),
             description="PatchGAN with a 70x70 receptive field (3 layers): the paper's default")
    register("image286", "i2i_plugins.patchgan:Image286Discriminator", aliases=("imagegan", "286x286"),
             description="ImageGAN: 286x286 receptive field (5 layers), whole 256 image")
