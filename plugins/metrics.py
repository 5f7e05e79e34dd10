"""Registers the image, colour, segmentation and feature metrics.

Targets are lazy strings: registering imports no torch."""

from i2i.api import hookimpl


@hookimpl
def register_metrics(register):
    register("l1", "i2i_plugins.image_metrics:L1Metric",
             description="Mean absolute error on [-1, 1] images (lower is better)")
    register("mse", "i2i_plugins.image_metrics:MSEMetric",
             description="Mean squared error on [0, 1] images (lower is better)")
    register("psnr", "i2i_plugins.image_metrics:PSNRMetric",
             description="Peak signal-to-noise ratio in dB, mean of per-image values (capped at 100 for identical images)")
    register("ssim", "i2i_plugins.image_metrics:SSIMMetric",
             description="Structural similarity (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5")
    register("ms_ssim", "i2i_plugins.msssim:MSSSIMMetric", aliases=("msssim",),
             description="Multi-scale SSIM (Wang et al. 2003): 5 scales, images of at least 176x176 pixels")
    register("lab_hist", "i2i_plugins.color_metrics:LabHistogramMetric", aliases=("color_hist",),
             description="Histogram intersection of output vs ground-truth Lab marginals (L, a, b), with plots")
    register("colorfulness", "i2i_plugins.color_metrics:ColorfulnessMetric", aliases=("colourfulness",),
             description="Colourfulness (Hasler & Süsstrunk 2003) of outputs; the ground truth's as reference")
    register("fcn_score", "i2i_plugins.fcn:FCNScore", aliases=("fcn",),
             description="FCN-score (Cityscapes labels -> photo): segmenter accuracy and IoU, outputs and real photos")
    register("label_score", "i2i_plugins.fcn:LabelScore",
             description="Photo -> Cityscapes labels: pixel and class accuracy and IoU of the output label colours")
    register("fid", "i2i_plugins.inception:InceptionFID",
             description="Frechet Inception Distance of outputs vs targets (needs Inception weights; lower is better)")
    register("kid", "i2i_plugins.inception:InceptionKID",
             description="Kernel Inception Distance, mean and std over subsets (needs Inception weights)")
