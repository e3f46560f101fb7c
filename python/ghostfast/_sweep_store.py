"""On-disk checkpoints of a sweep (``out=`` directory): a manifest with the sweep's config hash, and one
``.npz`` file per finished chunk, each written atomically (temporary file + ``os.replace``), so a sweep
killed at any moment (even SIGKILL) leaves only complete chunk files and resumes exactly.

Each chunk file carries the sweep's config hash and its run range (first run, number of runs), checked on
load against the manifest, the file name and the chunk's own arrays. A chunk that fails any check (another
sweep's, truncated, corrupted, renamed) is never merged: it is moved to ``rejected/`` with a RuntimeWarning
naming the file and the reason, and its runs are recomputed."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import uuid
import warnings
import zipfile
from typing import Any, Dict, Iterator, List, Mapping

import numpy as np

from ._sweep_grid import to_json

MANIFEST = "manifest.json"
CHUNK_PREFIX = "chunk-"
REJECTED = "rejected"
FORMAT_VERSION = 2  # 2: chunks carry the config hash and their run range
_CHUNK_NAME = re.compile(r"^chunk-(\d{9,})-(\d+)-[0-9a-f]{8}\.npz$")
_REQUIRED = ("runs", "record_epochs", "loss", "grad_norm", "accuracy", "weight_norm", "diverged", "diverged_epoch")


def stored_run_count(path: str | os.PathLike) -> int:
    """How many finished runs the chunk files under ``path`` (a sweep's ``out`` directory, or a directory of
    them) hold, by their file names; 0 if there is none. Counts for a message, without reading the chunks."""
    count = 0
    for _root, _dirs, files in os.walk(os.fspath(path)):
        for name in files:
            match = _CHUNK_NAME.match(name)
            count += int(match.group(2)) if match else 0
    return count


class BadChunk(ValueError):
    """A chunk file that must not be merged (the message names the file and the reason)."""


@contextlib.contextmanager
def _atomic_file(path: str, suffix: str = "") -> Iterator[Any]:
    """A binary file handle whose content appears at ``path`` only once fully written and synced
    (temporary file in the same directory + ``os.replace``); on any error the temporary file is removed."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _atomic_write_bytes(path: str, data: bytes) -> None:
    with _atomic_file(path) as fh:
        fh.write(data)


def _atomic_savez(path: str, arrays: Mapping[str, np.ndarray]) -> None:
    with _atomic_file(path, suffix=".npz") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy's stub types the first ** as allow_pickle


class Store:
    """The ``out=`` directory of one sweep."""

    def __init__(
        self, path: str | os.PathLike, config: Mapping[str, Any], config_hash: str, *, overwrite: bool = False
    ) -> None:
        self.path = os.fspath(path)
        self.config_hash = config_hash
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ValueError(f"out must be a directory path, but {self.path!r} is a file")
        os.makedirs(self.path, exist_ok=True)
        manifest_path = os.path.join(self.path, MANIFEST)
        if os.path.exists(manifest_path):
            try:
                with open(manifest_path, encoding="utf-8") as fh:
                    manifest = json.load(fh)
                if not isinstance(manifest, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as err:
                raise ValueError(
                    f"out={self.path!r}: the manifest {manifest_path} is unreadable ({err}): use another "
                    "directory, or overwrite=True to discard the stored runs"
                ) from None
            if manifest.get("config_hash") != config_hash:
                if not overwrite:
                    raise ValueError(
                        f"out={self.path!r} holds a different sweep (config hash "
                        f"{str(manifest.get('config_hash'))[:12]}..., this call {config_hash[:12]}...): use another "
                        "directory, or overwrite=True to discard the stored runs"
                    )
                self._clear()
            else:
                return
        elif overwrite:
            self._clear()
        elif any(name.startswith(CHUNK_PREFIX) for name in os.listdir(self.path)):
            raise ValueError(
                f"out={self.path!r} holds chunk files but no manifest: use another directory, or overwrite=True"
            )
        manifest = {"format": FORMAT_VERSION, "config_hash": config_hash, "config": config}
        _atomic_write_bytes(manifest_path, to_json(manifest).encode("utf-8"))

    def _clear(self) -> None:
        for name in os.listdir(self.path):
            if name.startswith(CHUNK_PREFIX) or name.startswith(".tmp-") or name == MANIFEST:
                os.unlink(os.path.join(self.path, name))
        rejected = os.path.join(self.path, REJECTED)
        if os.path.isdir(rejected):
            for name in os.listdir(rejected):
                if name.startswith(CHUNK_PREFIX):
                    os.unlink(os.path.join(rejected, name))

    def chunk_files(self) -> List[str]:
        return sorted(
            os.path.join(self.path, n)
            for n in os.listdir(self.path)
            if n.startswith(CHUNK_PREFIX) and n.endswith(".npz")
        )

    def write(self, chunk: Mapping[str, Any]) -> None:
        runs = np.asarray(chunk["runs"])
        if runs.size == 0:
            return
        arrays: Dict[str, np.ndarray] = {k: np.asarray(v) for k, v in chunk.items() if k != "params"}
        for i, params in enumerate(chunk.get("params", []) or []):
            for name, value in params.items():
                arrays[f"params__{i}__{name}"] = np.asarray(value)
        arrays["meta__config_hash"] = np.array(self.config_hash)
        arrays["meta__run_range"] = np.array([int(runs.min()), int(runs.size)], dtype=np.int64)
        name = f"{CHUNK_PREFIX}{int(runs.min()):09d}-{runs.size}-{uuid.uuid4().hex[:8]}.npz"
        _atomic_savez(os.path.join(self.path, name), arrays)

    def read(self, n_runs: int | None = None, keep_params: bool = False) -> Iterator[Dict[str, Any]]:
        """The stored chunks that pass every check; the others are set aside (see the module docstring)."""
        for path in self.chunk_files():
            try:
                chunk = self._load(path, n_runs, keep_params)
            except BadChunk as err:
                self._reject(path, str(err))
                continue
            yield chunk

    def _load(self, path: str, n_runs: int | None, keep_params: bool) -> Dict[str, Any]:
        name = os.path.basename(path)
        match = _CHUNK_NAME.match(name)
        if match is None:
            raise BadChunk(f"{path}: not a chunk file name this sweep writes")
        try:
            with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:  # our handle: closed on errors
                files = set(data.files)
                missing = [k for k in _REQUIRED + ("meta__config_hash", "meta__run_range") if k not in files]
                if missing:
                    raise BadChunk(f"{path}: missing {missing} (written by another version, or not a chunk)")
                stored_hash = str(data["meta__config_hash"][()])
                if stored_hash != self.config_hash:
                    raise BadChunk(
                        f"{path}: written by another sweep (config hash {stored_hash[:12]}..., this "
                        f"sweep {self.config_hash[:12]}...)"
                    )
                chunk: Dict[str, Any] = {
                    k: data[k] for k in data.files if not k.startswith("params__") and not k.startswith("meta__")
                }
                run_range = data["meta__run_range"]
                pkeys = [k for k in data.files if k.startswith("params__")]
                if pkeys:
                    params: List[Dict[str, np.ndarray]] = [dict() for _ in range(len(chunk["runs"]))]
                    for k in pkeys:
                        _, i, pname = k.split("__", 2)
                        if not i.isdigit() or int(i) >= len(params):
                            raise BadChunk(f"{path}: parameter entry {k!r} does not match its runs")
                        params[int(i)][pname] = data[k]
                    chunk["params"] = params
        except BadChunk:
            raise
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, IndexError, TypeError) as err:
            raise BadChunk(f"{path}: unreadable ({type(err).__name__}: {err})") from None
        runs = np.asarray(chunk["runs"])
        first, count = int(match.group(1)), int(match.group(2))
        n = runs.size
        if (
            runs.ndim != 1
            or not np.issubdtype(runs.dtype, np.integer)
            or n == 0
            or run_range.shape != (2,)
            or [int(runs.min()), n] != [first, count]
            or [int(v) for v in run_range] != [first, count]
            or np.unique(runs).size != n
        ):
            raise BadChunk(f"{path}: its runs do not match its run range (file name: first {first}, {count} runs)")
        if n_runs is not None and (int(runs.min()) < 0 or int(runs.max()) >= n_runs):
            raise BadChunk(f"{path}: runs outside this sweep's 0..{n_runs - 1}")
        n_rec = np.asarray(chunk["record_epochs"]).shape
        for k in ("loss", "grad_norm", "accuracy", "weight_norm"):
            if np.asarray(chunk[k]).shape != (n,) + n_rec:
                raise BadChunk(f"{path}: {k} has shape {np.asarray(chunk[k]).shape}, expected {(n,) + n_rec}")
        for k in ("diverged", "diverged_epoch"):
            if np.asarray(chunk[k]).shape != (n,):
                raise BadChunk(f"{path}: {k} has shape {np.asarray(chunk[k]).shape}, expected ({n},)")
        if keep_params and len(chunk.get("params", [])) != n:
            raise BadChunk(f"{path}: holds no final parameters for its runs (keep_params=True)")
        return chunk

    def _reject(self, path: str, reason: str) -> None:
        target_dir = os.path.join(self.path, REJECTED)
        os.makedirs(target_dir, exist_ok=True)
        target = os.path.join(target_dir, os.path.basename(path))
        os.replace(path, target)
        warnings.warn(
            f"sweep out={self.path!r}: chunk set aside (moved to {target}) and its runs recomputed: {reason}",
            RuntimeWarning,
            stacklevel=4,
        )
