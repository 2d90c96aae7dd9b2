"""What many test files share: the command line run in-process, and a config file written in one line."""
from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from autotrain.cli import app

runner = CliRunner()


def invoke(*args):
    """``autotrain ARGS...`` in this process (typer's CliRunner); arguments may be paths or numbers."""
    return runner.invoke(app, [str(a) for a in args])


def write(tmp_path: Path, text: str | bytes, name: str = "c.yaml") -> Path:
    """``text`` (or bytes) as the file ``tmp_path/name``; its path."""
    path = tmp_path / name
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    return path
