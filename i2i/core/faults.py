"""Fault injection for the crash tests: ``I2I_FAULT=PHASE[@N]:SIGNAL`` makes the process send itself SIGNAL
(e.g. ``SIGKILL``, ``SIGINT``) the Nth time (default: the first) it reaches the named phase.

Phases are the boundaries of the work that must survive a crash (the end-of-epoch sequence, the replace
step of each atomic write, the swap of a staged folder); :func:`fault_point` marks them. Unset, a fault
point costs one environment lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "I2I_FAULT"
_reached: dict[str, int] = {}


def fault_point(phase: str) -> None:
    """Send the signal that ``$I2I_FAULT`` names if it names this phase and this occurrence of it."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    target, _, name = spec.rpartition(":")
    target, _, nth = target.partition("@")
    if target != phase:
        return
    _reached[phase] = _reached.get(phase, 0) + 1
    if _reached[phase] == int(nth or 1):
        signal.raise_signal(getattr(signal, name))
