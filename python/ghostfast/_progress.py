"""Long C++ calls run in a worker thread with the GIL released; the calling thread shows a tqdm bar from
the shared Control's counter and turns Ctrl-C into a cancel request, so the call returns promptly with
the work that finished. Worker threads never call Python."""
from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable, Tuple

from . import _core


def progress_default() -> bool:
    """Progress bars are on in an interactive terminal, off in CI and when stderr is redirected."""
    if os.environ.get("CI"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def run_with_control(call: Callable[[Any], Any], *, total: int, progress: bool | None = None,
                     desc: str = "", unit: str = "run", poll_seconds: float = 0.1) -> Tuple[Any, bool]:
    """Run ``call(control)`` in a thread; return ``(result, interrupted)``.

    ``call`` must release the GIL, count finished jobs in ``control.done`` and stop soon after
    ``control.cancelled``. On KeyboardInterrupt the control is cancelled and the call's (partial) result
    is returned with ``interrupted=True``; exceptions raised by the call are re-raised here.
    """
    control = _core.Control()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call(control)
        except BaseException as err:  # noqa: BLE001 - re-raised on the calling thread
            outcome["error"] = err

    worker = threading.Thread(target=target, name="ghostfast-worker", daemon=True)
    show = progress_default() if progress is None else bool(progress)
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True)
    interrupted = False
    worker.start()
    try:
        while worker.is_alive():
            worker.join(poll_seconds)
            if bar is not None:
                bar.update(int(control.done) - bar.n)
    except KeyboardInterrupt:
        interrupted = True
        control.cancel()
        while worker.is_alive():  # a second Ctrl-C while stopping is absorbed; workers stop within an epoch
            try:
                worker.join()
            except KeyboardInterrupt:
                pass
    finally:
        if bar is not None:
            bar.update(int(control.done) - bar.n)
            bar.close()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value"), interrupted
