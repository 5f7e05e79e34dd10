"""i2i: paired image-to-image translation (pix2pix) as a plugin framework."""

__version__ = "0.1.0"

from i2i.hookspecs import hookimpl  # noqa: E402  (plugins write `from i2i import hookimpl`)


def load(model, **kwargs):
    """Load a model dir, run dir or Hub id as a :class:`i2i.translator.Translator`."""
    from i2i.translator import Translator

    return Translator.load(model, **kwargs)


__all__ = ["__version__", "hookimpl", "load"]
