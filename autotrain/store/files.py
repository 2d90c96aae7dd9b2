"""Bounded, link-free reads of the files in a run directory, which autotrain never trusts.

Every read opens only a regular file, never follows a symbolic link (``O_NOFOLLOW``) and stops at a
limit, so a planted link to ``/dev/zero``, a FIFO or a huge file is reported, not read.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_SMALL_FILE = 1 << 20  # config.yaml, summary.json, sweep.yaml, comparison.csv, sweep.csv


class UnreadableError(Exception):
    """A file or directory that cannot be read safely; the message says why (no traceback reaches a user)."""



def read_bounded(path: Path, limit: int = MAX_SMALL_FILE) -> tuple[bytes, bool]:
    """The bytes of the regular file ``path`` (at most ``limit``) and whether it was longer.

    Refuses symbolic links, FIFOs, devices and directories *before* reading anything, so a planted
    link to ``/dev/zero`` or a FIFO can neither hang nor exhaust memory.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UnreadableError(f"{path.name} is missing") from None
    except OSError as exc:
        if os.path.islink(path):
            raise UnreadableError(f"{path.name} is a symbolic link (not followed)") from None
        raise UnreadableError(f"{path.name}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableError(f"{path.name} is not a regular file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
        return data[:limit], len(data) > limit
    finally:
        os.close(fd)


def read_text(path: Path, limit: int = MAX_SMALL_FILE) -> str:
    """A small text file, whole; UnreadableError if it is larger than ``limit``, binary or not UTF-8."""
    data, truncated = read_bounded(path, limit)
    if truncated:
        raise UnreadableError(f"{path.name} is larger than {limit // 1024} KiB")
    if b"\0" in data:
        raise UnreadableError(f"{path.name} is a binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableError(f"{path.name} is not UTF-8 text (byte {exc.start})") from None


__all__ = ["UnreadableError", "read_bounded", "read_text", "MAX_SMALL_FILE"]
