"""TF1's ``tf.errors``: the exceptions a Session run raises, each an ``OpError``.

Each also derives from the Python exception that names the same failure (an unfed placeholder is a missing
key, a variable read before initialization a runtime state error), so both ``except tf.errors.OpError`` and
the plain Python type catch it.
"""
from __future__ import annotations


class OpError(Exception):
    """A Session run failed; ``message`` is the one sentence that says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:   # KeyError would quote the sentence
        return self.message


class InvalidArgumentError(OpError, KeyError):
    """A run's arguments cannot be used, e.g. a placeholder the fetches need was not fed."""


class FailedPreconditionError(OpError, RuntimeError):
    """A variable was read before it was initialized."""


__all__ = ["OpError", "InvalidArgumentError", "FailedPreconditionError"]
