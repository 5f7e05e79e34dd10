"""Registers the full-reference image metrics. Targets are lazy strings: registering imports no torch."""

from i2i.hookspecs import hookimpl


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
