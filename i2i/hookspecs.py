"""The hooks a plugin may implement. Each receives a core-owned callback; options go on the callback."""

import pluggy

hookspec = pluggy.HookspecMarker("i2i")
hookimpl = pluggy.HookimplMarker("i2i")


@hookspec
def register_generators(register):
    """Register generators: ``register(name, factory, *, aliases=(), description="", override=False)``."""


@hookspec
def register_discriminators(register):
    """Register discriminators: ``register(name, factory, *, aliases=(), description="", override=False)``."""


@hookspec
def register_losses(register):
    """Register objective terms: ``register(name, factory, *, aliases=(), description="", override=False)``."""


@hookspec
def register_tasks(register):
    """Register tasks: ``register(name, task, *, aliases=(), description="", override=False)``."""


@hookspec
def register_metrics(register):
    """Register metrics: ``register(name, factory, *, aliases=(), description="", override=False)``."""


@hookspec
def register_trackers(register):
    """Register experiment trackers: ``register(name, tracker_class, *, aliases=(), description="", override=False)``
    (see :mod:`i2i.trackers`)."""


@hookspec
def register_model_sources(register):
    """Register model sources: ``register(name, source, *, aliases=(), description="", override=False)``.

    A source offers ready-made models under the ids ``<name>/<model>`` (e.g. ``pix2pix/sat2map``) to every
    command that takes MODEL and to ``i2i pull``. ``source`` (or a lazy ``"module:attr"``) has
    ``models() -> {model: description}`` and ``fetch(model) -> Path``, the local model dir (fetched or
    converted on first use). A registered id wins over a Hub repo of the same name (see :mod:`i2i.resolver`).
    """


@hookspec
def register_commands(cli):
    """Add commands to the ``i2i`` click group."""
