"""i2i: paired image-to-image translation (pix2pix) as a plugin framework."""

__version__ = "0.1.0"

from i2i.core.hookspecs import hookimpl  # noqa: E402  (kept for older plugins; new ones import i2i.api)


def load(model, checkpoint=None, **kwargs):
    """Load a model dir, run dir, registered model id (``pix2pix/sat2map``) or Hub id as a
    :class:`i2i.models.translator.Translator`; ``checkpoint`` (``best``, ``latest``, ``epoch_N``) picks a run dir's
    checkpoint instead of its final generator in model/ (see :mod:`i2i.models.resolver`)."""
    from i2i.models.resolver import resolve_model
    from i2i.models.translator import Translator

    return Translator.load(resolve_model(model, checkpoint), **kwargs)


_USECASES = ("train", "resume", "evaluate", "translate", "new_config")


def __getattr__(name: str):
    """``i2i.train``, ``i2i.resume``, ``i2i.evaluate``, ``i2i.translate`` and ``i2i.new_config``: the functions the
    ``i2i`` commands run (:mod:`i2i.usecases`), imported on first use so that ``import i2i`` stays light."""
    if name in _USECASES:
        from i2i import usecases

        return getattr(usecases, name)
    raise AttributeError(f"module 'i2i' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_USECASES])


__all__ = ["__version__", "hookimpl", "load", *_USECASES]
