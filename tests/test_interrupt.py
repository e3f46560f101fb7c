"""Ctrl-C, as a user presses it: a real SIGINT sent by this (parent) process to a child running the long calls
(tests/_interrupt_child.py), on the default paths (no ``out=``, default chunk sizes, progress bars on).

For every call: it returns within about a second of the first SIGINT, a second SIGINT 50 ms later is absorbed,
the result is complete for what finished and reported correctly, nothing writes into it after the return, the
child exits normally (no SIGABRT), and ``out=`` resumes. CPython <= 3.12 matters most (``Thread.join()``
interrupted by KeyboardInterrupt leaves ``is_alive()`` wrong there): the test runs with every interpreter that
has a build of the extension next to the package (the in-tree builds for 3.9 and 3.13, see the README's
development section), and always with the running one.
"""

from __future__ import annotations

import glob
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

import ghostfast

CHILD = os.path.join(os.path.dirname(__file__), "_interrupt_child.py")
PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(ghostfast.__file__)))
SIGINT_AFTER = 0.6  # seconds after the call started
LATENCY_LIMIT = 1.5  # seconds from the first SIGINT to the call's return (about 1 s, with room for a busy CI)


def _interpreters() -> list:
    found = [pytest.param(sys.executable, id=f"py{sys.version_info[0]}{sys.version_info[1]}")]
    pkg = os.path.dirname(os.path.abspath(ghostfast.__file__))
    for tag, pattern in (("39", "~/.pyenv/versions/3.9*/bin/python"), ("313", "~/.pyenv/versions/3.13*/bin/python")):
        if f"{sys.version_info[0]}{sys.version_info[1]}" == tag:
            continue
        exes = sorted(glob.glob(os.path.expanduser(pattern)))
        if exes and glob.glob(os.path.join(pkg, f"_core.cpython-{tag}-*.so")):
            found.append(pytest.param(exes[-1], id=f"py{tag}"))
    return found


def _run(python: str, scenarios: list) -> dict:
    env = {**os.environ, "PYTHONPATH": PKG_PARENT, "PYTHONUNBUFFERED": "1"}
    env.pop("CI", None)
    proc = subprocess.Popen(
        [python, CHILD, *scenarios], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    lines: queue.Queue[str | None] = queue.Queue()
    err: list = []

    def pump_out() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.put(line.strip())
        lines.put(None)

    def pump_err() -> None:
        err.append(proc.stderr.read())  # type: ignore[union-attr]

    threads = [threading.Thread(target=pump_out, daemon=True), threading.Thread(target=pump_err, daemon=True)]
    for t in threads:
        t.start()
    latency: dict = {}
    oks: dict = {}
    sent_at = 0.0
    deadline = time.monotonic() + 120
    try:
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                break
            word, _, rest = line.partition(" ")
            if word in ("GO", "GO2"):
                time.sleep(SIGINT_AFTER)
                sent_at = time.monotonic()
                proc.send_signal(signal.SIGINT)
                # A second Ctrl-C while the call stops: right away (the real calls stop within milliseconds),
                # or, for the "absorb" call that needs 0.6 s to stop, 0.25 s later (a deterministic check).
                if word == "GO2":
                    time.sleep(0.25)
                proc.send_signal(signal.SIGINT)
            elif word == "RETURNED":
                latency[rest] = time.monotonic() - sent_at
            elif word == "OK":
                name, _, facts = rest.partition(" ")
                oks[name] = facts
    finally:
        if proc.poll() is None:
            proc.wait(timeout=30)
        for t in threads:
            t.join(timeout=5)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    stderr = err[0] if err else ""
    text = "\n".join(line for line in stderr.replace("\r", "\n").splitlines() if "|" not in line)  # no bars
    assert proc.returncode == 0, f"child exited with {proc.returncode} after {sorted(oks)}\n{text[-3000:]}"
    return {"latency": latency, "ok": oks, "stderr": stderr}


@pytest.mark.parametrize("python", _interpreters())
def test_ctrl_c_every_long_call(python: str) -> None:
    scenarios = ["absorb", "sweep", "sweep_out", "train", "train_many", "canonical", "slow_points"]
    out = _run(python, scenarios)
    out["latency"]["absorb"] -= 0.6  # its own stopping time
    expected = {"absorb", "sweep", "sweep_out", "train", "train_many", "canonical", "slow_points", "adam"}
    assert set(out["ok"]) == expected, out
    slow = {k: round(v, 2) for k, v in out["latency"].items() if v > LATENCY_LIMIT}
    assert not slow, f"calls that took more than {LATENCY_LIMIT} s to return after Ctrl-C: {slow}"
    assert "Traceback" not in out["stderr"], out["stderr"][-3000:]
