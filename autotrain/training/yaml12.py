"""Loading YAML the YAML 1.2 way, safely and within limits: config files, sweep files and ``--set key=value``.

* Floats resolve as in YAML 1.2, so ``lr: 1e-6`` is the number 1e-6 in a file and in ``--set`` (PyYAML's
  YAML 1.1 would read it as a string: it has no dot); ``017`` is 17, ``yes``/``on`` are strings.
* Loading is ``yaml.SafeLoader``-level only: tags such as ``!!python/object`` are refused and nothing is
  constructed; duplicate keys are an error; each key's line and column are kept for error messages.
* Limits: a file of at most ``MAX_CONFIG_BYTES``, ``MAX_NODES`` values (aliases counted as what they
  expand to), ``MAX_DEPTH`` levels of nesting.
"""
from __future__ import annotations

import os
import re
from typing import Any

import yaml

from autotrain.training.files import MAX_CONFIG_BYTES, read_regular_file
from autotrain.training.issues import ConfigError, ConfigIssue, bounded, shown
from autotrain.training.schema import LIST_KEYS

MAX_NODES = 10_000  # YAML nodes in one document, aliases counted as what they expand to
MAX_DEPTH = 32  # nesting of lists/mappings


class ConfigLoader(yaml.SafeLoader):
    """SafeLoader reading the YAML 1.2 core schema, with duplicate-key errors, key line numbers and limits.

    Limits, so no document can hang or exhaust memory: at most ``MAX_NODES`` nodes, where an alias
    counts as the whole subtree it repeats (a "billion laughs" bomb is refused while it is composed,
    long before anything is expanded), and at most ``MAX_DEPTH`` levels of nesting.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self.key_lines: dict = {}
        self._nodes = 0
        self._depth = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            self._count(self._size(node), event.start_mark, "aliases")
            return node
        self._count(1, event.start_mark, "nodes")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                                  event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _count(self, n: int, mark, what: str) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"the document is too large: more than {MAX_NODES} values"
                + (" once its aliases are expanded (refused: an alias bomb?)" if what == "aliases" else ""), mark)

    def _size(self, node) -> int:
        """Nodes in ``node``'s subtree, shared subtrees counted every time they appear (memoised)."""
        key = id(node)
        if key not in self._sizes:
            self._sizes[key] = 1  # a recursive alias counts once instead of looping
            if isinstance(node, yaml.SequenceNode):
                children = node.value
            elif isinstance(node, yaml.MappingNode):
                children = [n for pair in node.value for n in pair]
            else:
                children = []
            self._sizes[key] = 1 + sum(self._size(c) for c in children)
        return self._sizes[key]


# YAML 1.2 core schema, not PyYAML's YAML 1.1: `017` is 17 (not 15), `1:30`, `0b1`, `1_000`, `yes`, `on` and
# `2020-01-01` are strings, `1e-6` is a float.  Null stays `~`/`null`/empty (the same in both).
_INT_12 = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_12 = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_BOOL_12 = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_TAG = "tag:yaml.org,2002:"
ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_TAG + "int", _TAG + "float", _TAG + "bool",
                                                               _TAG + "timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
ConfigLoader.add_implicit_resolver(_TAG + "bool", _BOOL_12, list("tTfF"))
ConfigLoader.add_implicit_resolver(_TAG + "int", _INT_12, list("-+0123456789"))
ConfigLoader.add_implicit_resolver(_TAG + "float", _FLOAT_12, list("-+0123456789."))


def _construct_int(loader: ConfigLoader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if not _INT_12.match(text):
        raise yaml.constructor.ConstructorError(None, None, f"{shown(text)} is not an integer", node.start_mark)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)  # a number too long for Python (> 4300 digits) raises ValueError: reported as such


def _construct_float(loader: ConfigLoader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node)
    if not _FLOAT_12.match(text):
        raise yaml.constructor.ConstructorError(None, None, f"{shown(text)} is not a number", node.start_mark)
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    return float("nan") if lowered == ".nan" else float(text)


ConfigLoader.add_constructor(_TAG + "int", _construct_int)
ConfigLoader.add_constructor(_TAG + "float", _construct_float)


def _construct_mapping(loader: ConfigLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Node] = {}
    own = range(node.start_mark.index, node.end_mark.index + 1)
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` is resolved by SafeLoader below
            continue
        if key_node.start_mark.index not in own:  # a pair merged in from elsewhere: its own key may override it
            continue
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain scalar", key_node.start_mark)
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first defined on line {first})", key_node.start_mark)
        seen[key] = key_node
        loader.key_lines.setdefault(key, (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


ConfigLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, source: str) -> tuple[Any, dict]:
    """Parse ``text`` safely; returns (data, {key: (line, column)}) or raises ConfigError."""
    loader = None
    try:
        loader = ConfigLoader(text)  # the reader already rejects control characters here
        return loader.get_single_data(), loader.key_lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in str(what):
            what = f"YAML tag refused ({what.split('for the tag')[-1].strip()}): only plain values are allowed"
        raise ConfigError([ConfigIssue(source, f"YAML error: {bounded(what)}", line=mark.line + 1 if mark else None,
                                   column=mark.column + 1 if mark else None)]) from None
    except yaml.YAMLError as exc:  # e.g. a reader error on control characters
        raise ConfigError([ConfigIssue(source, f"YAML error: {bounded(str(exc))}")]) from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        # raised while a value is built: `!!int abc`, `!!timestamp 2020-13-45`, a 5000-digit integer...
        mark = loader.get_mark() if loader is not None else None
        raise ConfigError([ConfigIssue(source, f"YAML error: cannot build a value ({bounded(str(exc)) or type(exc).__name__})",
                                   line=mark.line + 1 if mark else None)]) from None
    finally:
        if loader is not None:
            loader.dispose()



def read_config_file(path: str | os.PathLike) -> tuple[dict, dict]:
    """The mapping in ``path`` and the line/column of each key; ConfigError for anything unusable.

    An empty file (or one of only comments) is an empty mapping: every key takes its default.
    """
    source = str(path)
    raw = read_regular_file(path, source)
    if b"\0" in raw:
        raise ConfigError([ConfigIssue(source, "is a binary file, expected a YAML config file")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigIssue(source, f"is not UTF-8 text (byte {exc.start})")]) from None
    data, lines = parse_yaml(text, source)
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(source, f"expected a mapping of keys to values, got {type(data).__name__}")])
    return data, lines


def parse_override(text: str) -> tuple[str, Any]:
    """``"lr=1e-5"`` -> ("lr", 1e-05): the value is read as a YAML scalar, like in a file."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError([ConfigIssue("--set", f"expected key=value, got {shown(text)}")])
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([ConfigIssue("--set", f"the value has more than {MAX_CONFIG_BYTES} characters", key=bounded(key))])
    value, _ = parse_yaml(raw, f"--set {bounded(key)}") if raw.strip() else (None, {})
    if isinstance(value, dict) or (isinstance(value, list) and key not in LIST_KEYS):
        raise ConfigError([ConfigIssue("--set", f"expected a single value, got {shown(raw)}", key=bounded(key))])
    return key, value


__all__ = ["ConfigLoader", "parse_yaml", "read_config_file", "parse_override", "MAX_NODES", "MAX_DEPTH",
           "MAX_CONFIG_BYTES"]
