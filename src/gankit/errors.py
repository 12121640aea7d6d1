"""User-facing errors.

Everything a user can get wrong (a path, a file, a config value, a name) raises a
subclass of :class:`GankitError` whose message names the thing and the fix. The
CLI prints such errors as one line and exits with status 2; any other exception
is a bug in gankit and keeps its traceback.
"""


class GankitError(Exception):
    """An error caused by the user's input, with a message that says how to fix it."""


class ConfigError(GankitError):
    """A bad config key or value."""


class DataError(GankitError):
    """A dataset that cannot be found, downloaded or parsed."""


class CheckpointError(GankitError):
    """A run directory or checkpoint that cannot be read (or written)."""


class TrainingDiverged(GankitError):
    """A run whose losses or gradients stayed NaN or infinite after the guard's rollbacks."""
