"""Errors that the CLI reports as one line (the user can act on them)."""


class I2IError(Exception):
    """Base class for every error that is the user's to fix, not a bug; the CLI exits with ``exit_code``."""

    exit_code = 1


class Interrupted(I2IError):
    """The user pressed Ctrl-C; the message says what was kept (exit status 130, as shells expect)."""

    exit_code = 130


class UnknownComponentError(I2IError, LookupError):
    """A name that no installed plugin registers."""


class RegistryConflictError(I2IError):
    """Two distributions registered the same name."""


class PluginLoadError(I2IError):
    """A plugin failed to import or register (raised in strict mode only)."""


class ConfigError(I2IError, ValueError):
    """A bad option value or combination."""


class DataError(I2IError):
    """Missing, unreadable or inconsistent data."""
