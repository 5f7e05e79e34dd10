"""i2i: paired image-to-image translation (pix2pix) as a plugin framework."""

__version__ = "0.1.0"

from i2i.hookspecs import hookimpl  # noqa: E402  (kept for older plugins; new ones import i2i.api)


def load(model, checkpoint=None, **kwargs):
    """Load a model dir, run dir, registered model id (``pix2pix/sat2map``) or Hub id as a
    :class:`i2i.translator.Translator`; ``checkpoint`` (``best``, ``latest``, ``epoch_N``) picks a run dir's
    checkpoint instead of its final generator in model/ (see :mod:`i2i.resolver`)."""
    from i2i.resolver import resolve_model
    from i2i.translator import Translator

    return Translator.load(resolve_model(model, checkpoint), **kwargs)


__all__ = ["__version__", "hookimpl", "load"]
