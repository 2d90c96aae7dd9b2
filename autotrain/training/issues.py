"""The error vocabulary of configs: one :class:`ConfigIssue` per thing wrong, all of them in one :class:`ConfigError`.

Every message names the file (and line), the key, the bad value and what is allowed; values are shown
bounded (:func:`shown`), so a 4000-digit number or a megabyte string never floods a terminal.
"""
from __future__ import annotations

import difflib
import reprlib
from dataclasses import dataclass
from typing import Any, Iterable

from autotrain.training.schema import FIELDS

MAX_SHOWN = 80  # characters of a value an error message prints


@dataclass(frozen=True)
class ConfigIssue:
    """One thing wrong with a config: where, which key, which value, and what is allowed."""

    source: str
    message: str
    key: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """A config that cannot be used; ``problems`` lists every :class:`ConfigIssue` at once."""

    def __init__(self, problems: Iterable[ConfigIssue]):
        self.problems = list(problems)
        super().__init__("\n".join([str(p) for p in self.problems] + self.footer()))

    def footer(self) -> list[str]:
        """Lines said once after the problems: the allowed keys, when a key was unknown."""
        unknown = any(p.message.startswith("unknown key") for p in self.problems)
        return [f"allowed keys: {', '.join(FIELDS)}"] if unknown else []


def shown(value: Any) -> str:
    """``repr(value)``, bounded: an error message never prints (or builds) more than ~MAX_SHOWN characters."""
    r = reprlib.Repr()
    r.maxstring = r.maxother = r.maxlong = MAX_SHOWN
    r.maxlevel, r.maxlist, r.maxdict, r.maxtuple = 3, 4, 4, 4
    text = r.repr(value)
    return text if len(text) <= MAX_SHOWN + 10 else text[:MAX_SHOWN] + "..."


def bounded(text: str, limit: int = 3 * MAX_SHOWN) -> str:
    """``text`` cut to ``limit`` characters (with ``...``), for keys and parser messages quoted in an error."""
    return text if len(text) <= limit else text[:limit] + "..."


def did_you_mean(word: Any, choices: Iterable[str], synonyms: dict[str, str] | None = None) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` (or a known synonym), else ``""``."""
    text = str(word)[:MAX_SHOWN].strip().lower()
    if synonyms and text in synonyms:
        return f"; did you mean {synonyms[text]!r}?"
    close = difflib.get_close_matches(text, [c.lower() for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


__all__ = ["ConfigIssue", "ConfigError", "MAX_SHOWN", "shown", "bounded", "did_you_mean"]
