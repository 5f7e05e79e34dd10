"""``from i2i.translator import Translator``, as model cards written before the package was grouped say.

New code: ``i2i.load(MODEL)`` (the cards now say so) or :class:`i2i.models.translator.Translator`.
"""

from i2i.models.translator import Translator

__all__ = ["Translator"]
