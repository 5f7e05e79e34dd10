"""The hooks a plugin may implement (mark each with :data:`hookimpl`, from :mod:`i2i.api`).

Each component hook receives the core's callback
``register(name, target, *, aliases=(), description="", override=False)``: ``target`` is the component
(a class, a :class:`~i2i.api.Task`, ...) or a lazy ``"module:attr"`` string imported on first use;
``aliases`` are other names for it; ``description`` defaults to the target's docstring's first line;
``override=True`` replaces a name another plugin registered (otherwise both names are an error).
Options go on the callback, never as hook parameters with defaults (pluggy does not pass those).
The contract each kind of target meets is in :mod:`i2i.api`.
"""

import pluggy

hookspec = pluggy.HookspecMarker("i2i")
hookimpl = pluggy.HookimplMarker("i2i")

REGISTER_SIGNATURE = '(name, target, *, aliases=(), description="", override=False)'
"""The component hooks' callback, as the docs write it (a test checks the callback's real signature)."""


@hookspec
def register_generators(register):
    """Register generators (:class:`~i2i.api.GeneratorProtocol`): ``register(name, target, ...)``."""


@hookspec
def register_discriminators(register):
    """Register discriminators (:class:`~i2i.api.DiscriminatorProtocol`): ``register(name, target, ...)``."""


@hookspec
def register_losses(register):
    """Register objective terms (:class:`~i2i.api.LossTermProtocol`): ``register(name, target, ...)``."""


@hookspec
def register_tasks(register):
    """Register tasks (:class:`~i2i.api.Task` objects): ``register(name, target, ...)``; the task takes
    ``name`` (the registration key) as its name."""


@hookspec
def register_metrics(register):
    """Register metrics (:class:`~i2i.api.MetricProtocol`): ``register(name, target, ...)``."""


@hookspec
def register_trackers(register):
    """Register experiment trackers (:class:`~i2i.api.TrackerProtocol`): ``register(name, target, ...)``."""


@hookspec
def register_model_sources(register):
    """Register model sources (:class:`~i2i.api.ModelSourceProtocol`): ``register(name, target, ...)``.

    A source offers ready-made models under the ids ``<name>/<model>`` (e.g. ``pix2pix/sat2map``) to every
    command that takes MODEL and to ``i2i pull``. A registered id wins over a Hub repo of the same name
    (see :mod:`i2i.models.resolver`).
    """


@hookspec
def register_commands(cli):
    """Add commands to the ``i2i`` click group: ``cli.add_command(command)`` or ``@cli.command()``; ``i2i.api``
    has the built-in commands' shared options and use cases."""
