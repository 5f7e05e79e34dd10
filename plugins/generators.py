"""Registers the paper's generators. Targets are lazy strings: registering imports no torch."""

from i2i.api import hookimpl


@hookimpl
def register_generators(register):
    register("unet", "i2i_plugins.unet:UNetGenerator",
             description="The paper's U-Net: encoder-decoder with skips; depth follows the crop size")
    register("unet256", "i2i_plugins.unet:UNet256Generator",
             description="The U-Net with 8 levels (inputs multiples of 256): the released checkpoints' network")
    register("unet128", "i2i_plugins.unet:UNet128Generator",
             description="The U-Net with 7 levels (inputs multiples of 128)")
    register("encdec", "i2i_plugins.unet:EncoderDecoderGenerator",
             description="The paper's encoder-decoder: the U-Net without skip connections")
    register("resnet", "i2i_plugins.resnet:ResnetGenerator",
             description="The PyTorch port's ResNet generator: 2 downsamplings, n_blocks residual blocks, "
                         "2 upsamplings")
    register("resnet_9blocks", "i2i_plugins.resnet:Resnet9BlocksGenerator",
             description="The PyTorch port's ResNet generator with 9 residual blocks")
    register("resnet_6blocks", "i2i_plugins.resnet:Resnet6BlocksGenerator",
             description="The PyTorch port's ResNet generator with 6 residual blocks")
