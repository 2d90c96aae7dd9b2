"""Reading a config file safely: a regular file, at most ``MAX_CONFIG_BYTES``, never a device, FIFO or directory."""
from __future__ import annotations

import os
import stat

from autotrain.training.issues import ConfigError, ConfigIssue

MAX_CONFIG_BYTES = 1 << 20  # a config is a few hundred bytes; a bigger file is refused before it is read


def read_regular_file(path: str | os.PathLike, source: str) -> bytes:
    """The bytes of ``path``: a regular file of at most MAX_CONFIG_BYTES, or ConfigError.

    Special files are refused before they are opened (``/dev/zero`` would never end, a FIFO would block
    forever); the open itself is non-blocking and re-checked, in case the file was swapped meanwhile.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(source, "config file not found")]) from None
    except OSError as exc:
        raise ConfigError([ConfigIssue(source, f"cannot read the config file ({exc.strerror})")]) from None
    if stat.S_ISDIR(st.st_mode):
        raise ConfigError([ConfigIssue(source, "is a directory, expected a YAML config file")])
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError([ConfigIssue(source, f"is {file_kind(st.st_mode)}, not a regular file; expected a YAML "
                                           "config file")])
    if st.st_size > MAX_CONFIG_BYTES:
        raise ConfigError([ConfigIssue(source, f"is {st.st_size} bytes; a config file may have at most "
                                           f"{MAX_CONFIG_BYTES} bytes")])
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ConfigError([ConfigIssue(source, f"cannot read the config file ({exc.strerror})")]) from None
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError([ConfigIssue(source, "was replaced by a special file while being opened")])
        try:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError([ConfigIssue(source, f"cannot read the config file ({exc.strerror})")]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([ConfigIssue(source, f"has more than {MAX_CONFIG_BYTES} bytes (the most a config may have)")])
    return raw


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words (``a FIFO (named pipe)``...), for a refusal message."""
    kinds = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a special file")


__all__ = ["MAX_CONFIG_BYTES", "read_regular_file", "file_kind"]
