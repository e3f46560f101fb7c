"""On-disk checkpoints of a sweep (``out=`` directory): a manifest with the sweep's config hash, and one
``.npz`` file per finished chunk, each written atomically (temporary file + ``os.replace``), so a sweep
killed at any moment (even SIGKILL) leaves only complete chunk files and resumes exactly."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
import uuid
from typing import Any, Dict, Iterator, List, Mapping

import numpy as np

from ._sweep_grid import to_json

MANIFEST = "manifest.json"
CHUNK_PREFIX = "chunk-"
FORMAT_VERSION = 1


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

    def __init__(self, path: str | os.PathLike, config: Mapping[str, Any], config_hash: str, *,
                 overwrite: bool = False) -> None:
        self.path = os.fspath(path)
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ValueError(f"out must be a directory path, but {self.path!r} is a file")
        os.makedirs(self.path, exist_ok=True)
        manifest_path = os.path.join(self.path, MANIFEST)
        if os.path.exists(manifest_path):
            with open(manifest_path, encoding="utf-8") as fh:
                manifest = json.load(fh)
            if manifest.get("config_hash") != config_hash:
                if not overwrite:
                    raise ValueError(
                        f"out={self.path!r} holds a different sweep (config hash "
                        f"{str(manifest.get('config_hash'))[:12]}..., this call {config_hash[:12]}...): use another "
                        "directory, or overwrite=True to discard the stored runs")
                self._clear()
            else:
                return
        elif overwrite:
            self._clear()
        elif any(name.startswith(CHUNK_PREFIX) for name in os.listdir(self.path)):
            raise ValueError(f"out={self.path!r} holds chunk files but no manifest: use another directory, "
                             "or overwrite=True")
        manifest = {"format": FORMAT_VERSION, "config_hash": config_hash, "config": config}
        _atomic_write_bytes(manifest_path, to_json(manifest).encode("utf-8"))

    def _clear(self) -> None:
        for name in os.listdir(self.path):
            if name.startswith(CHUNK_PREFIX) or name.startswith(".tmp-") or name == MANIFEST:
                os.unlink(os.path.join(self.path, name))

    def chunk_files(self) -> List[str]:
        return sorted(os.path.join(self.path, n) for n in os.listdir(self.path)
                      if n.startswith(CHUNK_PREFIX) and n.endswith(".npz"))

    def write(self, chunk: Mapping[str, Any]) -> None:
        runs = np.asarray(chunk["runs"])
        if runs.size == 0:
            return
        arrays: Dict[str, np.ndarray] = {k: np.asarray(v) for k, v in chunk.items() if k != "params"}
        for i, params in enumerate(chunk.get("params", []) or []):
            for name, value in params.items():
                arrays[f"params__{i}__{name}"] = np.asarray(value)
        name = f"{CHUNK_PREFIX}{int(runs.min()):09d}-{runs.size}-{uuid.uuid4().hex[:8]}.npz"
        _atomic_savez(os.path.join(self.path, name), arrays)

    def read(self) -> Iterator[Dict[str, Any]]:
        for path in self.chunk_files():
            with np.load(path, allow_pickle=False) as data:
                chunk: Dict[str, Any] = {k: data[k] for k in data.files if not k.startswith("params__")}
                pkeys = [k for k in data.files if k.startswith("params__")]
                if pkeys:
                    params: List[Dict[str, np.ndarray]] = [dict() for _ in range(len(chunk["runs"]))]
                    for k in pkeys:
                        _, i, name = k.split("__", 2)
                        params[int(i)][name] = data[k]
                    chunk["params"] = params
            yield chunk
