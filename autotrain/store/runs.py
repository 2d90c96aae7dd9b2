"""Run directories: unique creation, config.yaml, metrics.csv, atomic checksummed checkpoints, summary.json.

Layout of one run (``runs/<UTC timestamp>-<name>-<mode>/``)::

    config.yaml                 the resolved config (autotrain/numpy versions in its header comment)
    metrics.csv                 step,epoch,loss,val_loss,val_accuracy,elapsed_s  -- one row per logged step,
                                flushed as written (autotrain.store.metrics)
    data.npz                    x, y, w1, w2: the data and initial weights
    checkpoints/step-NNNNNN.npz state.w1, state.w2 after NNNNNN updates, step, elapsed_s, config_hash,
                                rng_state, checksum
    summary.json                status (running|completed|interrupted|diverged), final loss, steps/s, ...

Nothing here writes outside the run directory: names are sanitised and every write goes to a temp
file in the same directory, is flushed and fsynced, then renamed over the target (``os.replace``).
A run has one writer at a time (:meth:`RunDir.lock`); symbolic links inside a run are refused; only
temporary files named by :func:`atomic_write` are ever deleted; a checkpoint is read field by field
against the shapes and dtypes the caller expects, before any array is allocated.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import math
import os
import platform
import re
import stat
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import numpy.lib.format as npy_format

import autotrain
from autotrain.store.files import UnreadableError
from autotrain.store.metrics import WHOLE_FILE, Metrics, MetricsWriter, metrics_text, read_metrics
from autotrain.training.config import FitConfig, load_config, to_yaml
from autotrain.training.record import CheckpointError, RunError, Spec, checkpoint_spec

CHECKPOINT_RE = re.compile(r"^step-(\d+)\.npz$")
TEMP_MARK = ".tmp"
MAX_NAME = 64
LOCK_NAME = ".autotrain.lock"
#: The only temporary files autotrain deletes: ``.<target>.<pid>.tmp`` as :func:`atomic_write` names them,
#: for a target autotrain writes (a user's own ``.notes.tmp`` or a directory is never touched).
TEMP_RE = re.compile(r"^\.(?:config\.yaml|metrics\.csv|data\.npz|summary\.json|comparison\.csv"
                     r"|(?:step|best)-\d+\.npz|best\.npz)\.\d+\.tmp$")
#: The entries of a run directory autotrain reads or writes; none of them may be a symbolic link.
RUN_ENTRIES = ("config.yaml", "metrics.csv", "summary.json", "data.npz", "checkpoints", LOCK_NAME)
#: Bytes a checkpoint may hold beyond its arrays' data (zip and .npy headers, metadata, rng state).
CHECKPOINT_SLACK = 1 << 20


class RunLocked(RunError):
    """Another process is writing this run (``pid`` holds its lock)."""

    def __init__(self, path: Path, pid: int | None):
        self.pid = pid
        who = f"process {pid}" if pid else "another process"
        super().__init__(f"{path} is in use by {who} (another autotrain fit or --resume of this run); "
                         "wait for it to finish or stop it, then resume")


@dataclass
class Checkpoint:
    """A verified checkpoint: weights after ``step`` updates, and where it came from."""

    step: int
    state: dict[str, np.ndarray]
    config_hash: str
    elapsed_s: float
    path: Path
    rng_state: str = ""

    @property
    def weights(self) -> dict[str, np.ndarray]:
        """The network's parameters (``w1``, ``b1``...)."""
        return {k: v for k, v in self.state.items() if not k.startswith("optim.")}

    @property
    def optimizer_state(self) -> dict[str, np.ndarray]:
        """The optimizer's state (``step``, ``exp_avg.w1``...), stored as ``state.optim.*`` arrays."""
        return {k.removeprefix("optim."): v for k, v in self.state.items() if k.startswith("optim.")}


def versions() -> dict[str, str]:
    """The versions a run was made with, recorded in its files."""
    return {"autotrain": autotrain.__version__, "numpy": np.__version__, "python": platform.python_version()}


def sanitize_name(name: str) -> str:
    """A run name safe as one path component: ``[A-Za-z0-9._-]``, no leading dot, at most 64 chars.

    >>> sanitize_name("../../etc/passwd"), sanitize_name("/abs/path"), sanitize_name("")
    ('etc-passwd', 'abs-path', 'run')
    """
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-_")
    return cleaned[:MAX_NAME].rstrip(".-_") or "run"


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory, which is fine.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, write) -> None:
    """Call ``write(file)`` on a temp file next to ``path``, fsync it, then rename it over ``path``.

    On any failure (including KeyboardInterrupt) the temp file is removed and ``path`` is untouched.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TEMP_MARK}")
    try:
        tmp.unlink(missing_ok=True)  # our own pid's leftover (a retried write); never followed as a link
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with open(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # "No space left on device: <the file>", as docs/errors.md promises
        raise
    _fsync_dir(path.parent)


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


@dataclass
class RunDir:
    """One run directory and the files in it."""

    path: Path
    notes: list[str] = field(default_factory=list)

    config_path = property(lambda self: self.path / "config.yaml")
    metrics_path = property(lambda self: self.path / "metrics.csv")
    data_path = property(lambda self: self.path / "data.npz")
    summary_path = property(lambda self: self.path / "summary.json")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")

    # ------------------------------------------------------------ config, data, summary

    def write_config(self, cfg: FitConfig) -> None:
        v = versions()
        header = (f"# autotrain {v['autotrain']}, numpy {v['numpy']}, python {v['python']}\n"
                  f"# config_hash: {cfg.config_hash()}\n"
                  f"# re-run with: autotrain fit <this file>   continue with: autotrain fit --resume <run dir>\n")
        atomic_write(self.config_path, lambda f: f.write((header + to_yaml(cfg)).encode()))

    def read_config(self) -> FitConfig:
        """The run's own config (validated like any config file)."""
        return load_config(self.config_path, check=False)

    def save_data(self, problem) -> None:
        """data.npz: x, y, w1, w2 (read it back with ``autotrain.training.data.load_problem``)."""
        atomic_write(self.data_path, lambda f: np.savez(f, **problem._asdict()))

    def save_fit_data(self, data) -> None:
        """data.npz of a fit: ``x``, ``y`` (the training split, as the model sees it), the initial ``w1``, ``b1``...,
        and where they apply ``x_val``, ``y_val``, ``mean``, ``std`` (standardisation), ``classes`` (label of
        each class index), ``feature_names``, ``target_names``, ``train_index``, ``val_index``."""
        arrays = data.arrays()
        atomic_write(self.data_path, lambda f: np.savez(f, **arrays))

    def write_summary(self, summary: dict[str, Any]) -> None:
        text = json.dumps({**summary, "versions": versions()}, indent=2, allow_nan=False) + "\n"
        atomic_write(self.summary_path, lambda f: f.write(text.encode()))

    def read_summary(self) -> dict[str, Any]:
        from autotrain.training.data import loads_json

        return loads_json(self.summary_path.read_text())

    # ------------------------------------------------------------ metrics

    def open_metrics(self, keep_before: int = 0, logged=None) -> MetricsWriter:
        """Open metrics.csv for appending, first dropping rows of steps >= ``keep_before`` (and torn lines).

        On resume from a checkpoint at step k, rows k, k+1, ... were logged after that checkpoint and
        will be logged again, so the continued table matches an uninterrupted run's.  ``logged(step)``:
        whether the run's plan logs that step; other rows go too (an extended run's old last row).
        """
        rows = [r for r in self.read_metrics().rows()
                if r["step"] < keep_before and (logged is None or logged(r["step"]))]
        text = metrics_text(rows)
        atomic_write(self.metrics_path, lambda f: f.write(text.encode()))
        return MetricsWriter(self.metrics_path)

    def read_metrics(self) -> Metrics:
        """metrics.csv, every row (:func:`autotrain.store.metrics.read_metrics`); no rows when there is none
        yet or when it cannot be read (a resume then writes it anew)."""
        try:
            return read_metrics(self.metrics_path, limit=WHOLE_FILE)
        except UnreadableError:
            return Metrics()

    # ------------------------------------------------------------ checkpoints

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"step-{step:06d}.npz"

    def save_checkpoint(self, step: int, state: dict[str, np.ndarray], config_hash: str,
                        elapsed_s: float = 0.0, rng_state: str = "",
                        optimizer_state: dict[str, np.ndarray] | None = None) -> Path:
        """Write ``state`` (and the optimizer's, as ``state.optim.<name>``) after ``step`` updates atomically;
        a kill leaves the old file or the new one."""
        arrays = {f"state.{k}": np.asarray(v) for k, v in state.items()}
        arrays.update({f"state.optim.{k}": np.asarray(v) for k, v in (optimizer_state or {}).items()})
        arrays.update(step=np.array(step, dtype=np.int64), elapsed_s=np.array(elapsed_s, dtype=np.float64),
                      config_hash=np.array(config_hash), rng_state=np.array(rng_state))
        arrays["checksum"] = np.array(checksum(arrays))
        path = self.checkpoint_path(step)
        atomic_write(path, lambda f: np.savez(f, **arrays))
        return path

    def checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of every checkpoint file, oldest first (regular files only, never a link)."""
        found = []
        if _is_real_dir(self.checkpoints_dir):
            for p in self.checkpoints_dir.iterdir():
                m = CHECKPOINT_RE.match(p.name)
                if m and _is_regular(p):
                    found.append((int(m.group(1)), p))
        return sorted(found)

    def prune_checkpoints(self, keep: int, protect: Iterable[int] = ()) -> list[Path]:
        """Delete step checkpoints older than the newest ``keep`` (0: keep all), except the steps in ``protect``
        (the best).  Call it only after the newest checkpoint is on disk: at least that one always remains."""
        if keep <= 0:
            return []
        found = self.checkpoints()
        protected = set(protect)
        removed = []
        for step, path in found[:-keep]:
            if step not in protected:
                path.unlink(missing_ok=True)
                removed.append(path)
        if removed:
            _fsync_dir(self.checkpoints_dir)
        return removed

    def clean_temp_files(self) -> list[str]:
        """Remove temp files left by a killed write; returns a note per file removed.

        Only regular files named exactly as :func:`atomic_write` names them (``TEMP_RE``) are removed:
        never a directory, a link or a user's own ``.*.tmp``.  Call it holding :meth:`lock`, so no
        other process is writing one of them right now.
        """
        removed = []
        for folder in (self.path, self.checkpoints_dir):
            if not _is_real_dir(folder):
                continue
            for p in folder.iterdir():
                if TEMP_RE.match(p.name) and _is_regular(p):
                    p.unlink(missing_ok=True)
                    removed.append(f"removed a stale temporary file {p.relative_to(self.path)}")
        return removed

    def refuse_links(self) -> None:
        """RunError if an entry autotrain reads or writes in this run is a symbolic link.

        A link could make a resume read, write or delete files outside the run directory.
        """
        entries = [self.path / name for name in RUN_ENTRIES]
        if _is_real_dir(self.checkpoints_dir):
            entries += list(self.checkpoints_dir.iterdir())
        for p in entries:
            if p.is_symlink():
                raise RunError(f"refusing {p}: it is a symbolic link (to {os.readlink(p)}); a run directory must "
                               "hold its own files, so that nothing outside it is read, written or deleted")
            if p.parent == self.path and p.exists() and (p.is_dir() != (p.name == "checkpoints") or not (
                    p.is_dir() or _is_regular(p))):  # a FIFO as metrics.csv would block every reader forever
                raise RunError(f"refusing {p}: it is not a regular {'directory' if p.name == 'checkpoints' else 'file'}")

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold this run's writer lock (``fcntl.flock`` on ``.autotrain.lock``) for the block.

        A second writer gets :class:`RunLocked` at once, naming the holding process.  The kernel releases
        the lock when its holder dies, however it dies, so a killed run never blocks a later resume.
        The file is removed on a normal release (a killed holder leaves it; it is harmless).
        """
        path = self.path / LOCK_NAME
        fd = self._acquire(path)
        try:
            stamp = f"{os.getpid()}\n".encode()
            os.pwrite(fd, stamp, 0)      # written, then cut to length: a reader never sees it empty once written
            os.ftruncate(fd, len(stamp))
            yield
        finally:
            try:
                os.unlink(path)  # still locked here: anyone who opened this inode will see it is stale
            except OSError:
                pass
            os.close(fd)  # releases the lock

    @staticmethod
    def _acquire(path: Path) -> int:
        for _ in range(100):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise RunError(f"refusing {path}: it is a symbolic link") from None
                raise
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = _read_pid(fd)
                os.close(fd)
                raise RunLocked(path.parent, pid) from None
            try:  # the holder we waited on may have removed the file: lock the one that is there now
                if os.fstat(fd).st_ino == os.lstat(path).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)
        raise RunError(f"cannot lock {path}: it keeps being replaced")

    def load_checkpoint(self, path: Path, cfg: FitConfig | None = None, spec: Spec | None = None) -> Checkpoint:
        """:func:`load_checkpoint` of one of this run's checkpoint files."""
        return load_checkpoint(path, cfg, spec)

    def latest_checkpoint(self, cfg: FitConfig, spec: dict | None = None) -> Checkpoint | None:
        """The newest checkpoint that verifies against ``cfg`` (and ``spec``, default :func:`checkpoint_spec`);
        damaged newer ones are skipped with a note.

        Returns None when the run has no checkpoint at all; raises RunError when none is usable.
        """
        found, reasons = self.checkpoints(), []
        for step, path in reversed(found):
            try:
                ckpt = load_checkpoint(path, cfg, spec)
            except CheckpointError as exc:
                reasons.append(f"{path.name}: {exc}")
                continue
            self.notes += [f"{r}; falling back to an earlier checkpoint" for r in reasons]
            return ckpt
        if found:
            raise RunError(f"no usable checkpoint in {self.checkpoints_dir}:\n  " + "\n  ".join(reasons))
        return None


def _is_regular(p: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(p).st_mode)
    except OSError:
        return False


def _is_real_dir(p: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(p).st_mode)
    except OSError:
        return False


def _read_pid(fd: int) -> int | None:
    """The pid the lock's holder wrote; a holder that has just taken the lock writes it in a moment."""
    for _ in range(20):
        try:
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        except OSError:
            return None
        if text.isdigit():
            return int(text)
        time.sleep(0.005)
    return None


# ---------------------------------------------------------------- reading a checkpoint

#: The fields every checkpoint holds besides its ``state.*`` arrays.
META_SPEC: Spec = {"step": ((), "int64"), "elapsed_s": ((), "float64"), "config_hash": ((), "str"),
                   "rng_state": ((), "str"), "checksum": ((), "str")}
MAX_TEXT = 1 << 16  # characters in a metadata string (the rng state is the longest)


def _describe(dtype: np.dtype, shape: tuple) -> str:
    return f"{dtype}{list(shape)}"


def _matches(dtype: np.dtype, shape: tuple, want_shape: tuple, want_dtype) -> bool:
    if tuple(shape) != tuple(want_shape):
        return False
    if want_dtype == "str":
        return dtype.kind == "U" and dtype.itemsize <= 4 * MAX_TEXT
    return dtype == np.dtype(want_dtype)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, header_only: bool):
    """(dtype, shape, fortran) of one .npy member, and its array unless ``header_only``."""
    with zf.open(info) as f:
        version = npy_format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(f, max_header_size=10000)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npy_format.read_array_header_2_0(f, max_header_size=10000)
        else:
            raise CheckpointError(f"{info.filename}: unsupported .npy version {version}")
        if dtype.hasobject:
            raise CheckpointError("holds a pickled Python object, which is refused (nothing was loaded)")
        if header_only:
            return dtype, shape, fortran, None
        count = math.prod(shape)
        data = f.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize or f.read(1):  # the extra read also checks the member's CRC
            raise CheckpointError(f"{info.filename}: holds {len(data)} bytes of data, its header says "
                                  f"{count * dtype.itemsize}")
    array = np.frombuffer(data, dtype=dtype)
    array = array.reshape(shape[::-1]).T if fortran else array.reshape(shape)
    return dtype, shape, fortran, np.array(array)  # a writable copy, as np.load gives


def _spec_bytes(spec: Spec) -> int:
    return sum(math.prod(shape) * (8 if dtype == "str" else np.dtype(dtype).itemsize) for shape, dtype in spec.values())


def _read_arrays(path: Path, expected: Spec) -> dict[str, np.ndarray]:
    """Every array of the checkpoint at ``path``, each checked against ``expected`` before it is read."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise CheckpointError(f"cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError("is not a regular file (a link or a special file is never read)")
    limit = _spec_bytes(expected) + CHECKPOINT_SLACK
    if st.st_size > limit:
        raise CheckpointError(f"is {st.st_size} bytes, more than the {limit} its arrays can take")
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(b"\x93NUMPY"):
        with open(path, "rb") as f:
            npy_format.read_magic(f)
            if npy_format.read_array_header_1_0(f, max_header_size=10000)[2].hasobject:
                raise CheckpointError("is not an .npz archive; reading it would need pickle, which is refused "
                                      "(nothing was loaded)")
        raise CheckpointError("is not an .npz archive (a bare .npy array)")
    if not head.startswith(b"PK"):
        if head.startswith((b"\x80", b"c")):
            raise CheckpointError("is not an .npz archive; reading it would need pickle, which is refused "
                                  "(nothing was loaded)")
        raise CheckpointError("is not an .npz archive")
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        names = [i.filename.removesuffix(".npy") for i in infos]
        if len(infos) > len(expected) + 16 or len(set(names)) != len(names):
            raise CheckpointError(f"holds {len(infos)} members ({', '.join(sorted(set(names))[:8])}...), "
                                  f"expected {len(expected)}")
        headers = {}
        for info, name in zip(infos, names):  # every header first: a pickle is refused before anything else
            headers[name] = (info, *_read_member(zf, info, header_only=True)[:2])
        if missing := expected.keys() - headers.keys():
            raise CheckpointError(f"is missing {', '.join(sorted(missing))}")
        if unknown := headers.keys() - expected.keys():
            raise CheckpointError(f"holds unexpected arrays {', '.join(sorted(unknown))}")
        for name, (info, dtype, shape) in headers.items():
            want_shape, want_dtype = expected[name]
            if not _matches(dtype, shape, want_shape, want_dtype):
                want = "a string" if want_dtype == "str" else f"{np.dtype(want_dtype)}"
                raise CheckpointError(f"{name.removeprefix('state.')} is {_describe(dtype, shape)}, expected "
                                      f"{want}{list(want_shape)}")
        for name, (info, _, _) in headers.items():
            arrays[name] = _read_member(zf, info, header_only=False)[3]
    return arrays


def load_checkpoint(path: Path, cfg: FitConfig | None = None, spec: Spec | None = None) -> Checkpoint:
    """Read and verify one checkpoint; CheckpointError says what is wrong.

    ``spec`` is {state array name: (shape, dtype)} (default: :func:`checkpoint_spec` of ``cfg``).  Each
    array's ``.npy`` header is read first and compared with it, so a forged header never makes this
    allocate more than the expected arrays; no pickle is ever loaded.  Then the checksum, the config
    hash, the inner step against the file name and the range ``0..cfg.steps``, and finite weights.
    Without ``cfg`` or ``spec`` any ``state.*`` arrays are accepted (for inspection).

    Plain numpy can read it too::

        z = np.load("runs/<run>/checkpoints/step-000500.npz")   # allow_pickle is False by default
        w1, w2 = z["state.w1"], z["state.w2"]
    """
    path = Path(path)
    if spec is None and cfg is not None:
        spec = checkpoint_spec(cfg)
    try:
        if spec is None:
            spec = _spec_from_headers(path)
        expected = {**META_SPEC, **{f"state.{k}": v for k, v in spec.items()}}
        arrays = _read_arrays(path, expected)
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to parse an untrusted file means "corrupt"
        raise CheckpointError(f"truncated or corrupt ({type(exc).__name__}: {_short(str(exc))})") from None
    stored = str(arrays.pop("checksum"))
    if checksum(arrays) != stored:
        raise CheckpointError("checksum mismatch (the file was damaged or edited)")
    state = {k.removeprefix("state."): v for k, v in arrays.items() if k.startswith("state.")}
    ckpt = Checkpoint(int(arrays["step"]), state, str(arrays["config_hash"]), float(arrays["elapsed_s"]),
                      path, str(arrays["rng_state"]))
    _check_fields(ckpt, cfg)
    return ckpt


def _spec_from_headers(path: Path) -> Spec:
    """Without an expected spec: whatever ``state.*`` arrays the file declares (bounded by its size)."""
    spec: Spec = {}
    size = os.lstat(path).st_size
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist()[:64]:
            name = info.filename.removesuffix(".npy")
            if name.startswith("state."):
                dtype, shape, _, _ = _read_member(zf, info, header_only=True)
                if math.prod(shape) * dtype.itemsize > size:
                    raise CheckpointError(f"{name}'s header claims {_describe(dtype, shape)}, more than the file holds")
                spec[name.removeprefix("state.")] = (tuple(shape), dtype)
    return spec


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _check_fields(ckpt: Checkpoint, cfg: FitConfig | None) -> None:
    m = CHECKPOINT_RE.match(ckpt.path.name)
    if m and int(m.group(1)) != ckpt.step:
        raise CheckpointError(f"holds step {ckpt.step} but its name says {int(m.group(1))} (renamed or forged)")
    if not (math.isfinite(ckpt.elapsed_s) and ckpt.elapsed_s >= 0):
        raise CheckpointError(f"elapsed_s is {ckpt.elapsed_s!r}, expected a finite number >= 0")
    if cfg is not None:
        if not cfg.hash_matches(ckpt.config_hash):
            raise CheckpointError("was written by a run of a different config (config_hash differs)")
        if ckpt.step < 0 or (cfg.epochs is None and ckpt.step > cfg.steps):  # epochs: the data sets the length
            raise CheckpointError(f"step {ckpt.step} is outside 0..{cfg.steps}")
    for name, a in ckpt.state.items():
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            raise CheckpointError(f"{name} holds NaN or inf: a damaged checkpoint (autotrain never writes "
                                  "non-finite weights)")


_UNWRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _raise_if_unwritable(exc: OSError, path: Path) -> None:
    """A read-only, full or forbidden file system is an OS error (exit 4), not bad input: re-raise it naming the path."""
    if exc.errno in _UNWRITABLE:
        raise OSError(exc.errno, exc.strerror, str(exc.filename or path)) from None


def create_unique_dir(root: str | os.PathLike, stem: str, now: datetime | None = None) -> Path:
    """Create a new, empty ``<root>/<UTC timestamp>-<stem>/`` and return it.

    ``os.mkdir`` is atomic, so two processes started in the same second get distinct directories
    (the later one gets a ``-2`` suffix, and so on). ``stem`` must already be sanitised.
    """
    root_text = os.fspath(root)
    if "\0" in root_text:
        raise RunError("--runs-dir contains a NUL character")
    root = Path(root_text)
    try:
        if root.exists() and not root.is_dir():
            raise RunError(f"the runs directory {root} is not a directory (it is a file); choose another --runs-dir")
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # e.g. a name too long, a file in the way
        _raise_if_unwritable(exc, root)
        raise RunError(f"cannot create the runs directory {root}: {exc.strerror or exc}") from None
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    base = f"{stamp}-{stem}"
    for attempt in range(1, 10_000):
        path = root / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            os.mkdir(path)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            _raise_if_unwritable(exc, path)
            raise RunError(f"cannot create a run directory in {root}: {exc.strerror or exc}") from None
    else:
        raise RunError(f"too many runs named {base} in {root}")
    if path.resolve().parent != root.resolve():  # cannot happen with a sanitised name; belt and braces
        raise RunError(f"refusing to write outside {root}")
    return path


def create_run(cfg: FitConfig, root: str | os.PathLike = "runs", now: datetime | None = None) -> RunDir:
    """Create a new, empty ``<root>/<UTC timestamp>-<name>-<mode>/`` and write its config.yaml."""
    path = create_unique_dir(root, f"{sanitize_name(cfg.name)}-{cfg.mode}", now)
    (path / "checkpoints").mkdir()
    run = RunDir(path)
    run.write_config(cfg)
    return run


def open_run(path: str | os.PathLike) -> RunDir:
    """An existing run directory (for ``--resume``); RunError if ``path`` is not one.

    Refused too: a run whose own entries (config.yaml, checkpoints/, ...) are symbolic links, and a
    run path that is itself a link to somewhere outside the directory it is listed in.
    """
    text = os.fspath(path)
    if "\0" in text:
        raise RunError("the run path contains a NUL character")
    run = RunDir(Path(text))
    if not run.path.is_dir():
        raise RunError(f"{text} is not a directory, so it cannot be a run to resume")
    if run.path.is_symlink():
        target, home = run.path.resolve(), run.path.absolute().parent.resolve()
        if target.parent != home:
            raise RunError(f"refusing {text}: it is a symbolic link to {target}, outside {home}; "
                           "resume the run by its real path")
    if not run.config_path.is_file() or not run.checkpoints_dir.is_dir():
        raise RunError(f"{text} is not an autotrain run directory (it needs config.yaml and checkpoints/)")
    run.refuse_links()
    return run


__all__ = ["RunDir", "RunError", "RunLocked", "CheckpointError", "Checkpoint", "create_run", "open_run",
           "load_checkpoint", "checkpoint_spec", "META_SPEC", "sanitize_name", "atomic_write", "checksum", "versions"]
