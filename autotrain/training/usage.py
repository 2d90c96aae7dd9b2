"""The error of a request its caller can fix, raised by the library functions the command line calls."""
from __future__ import annotations


class UsageError(Exception):
    """A request the caller can fix: an option's value, options that do not go together, a missing extra or
    a missing file.  The message names what was given and what to do instead (the command line exits 2)."""


__all__ = ["UsageError"]
