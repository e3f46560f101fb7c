"""Long C++ calls run in a worker thread with the GIL released; the calling thread shows a tqdm bar from
the shared Control's counters and turns Ctrl-C into a cancel request, so the call returns promptly with
the work that finished.

How Ctrl-C is handled (the same on every supported Python):

* On the main thread, while the call runs, SIGINT is handled by a small handler that only sets the
  Control's cancel flag: no KeyboardInterrupt is raised in the middle of the bookkeeping, so a second
  (third, ...) Ctrl-C while the workers stop is absorbed the same way. The previous handler is restored
  before returning.
* Elsewhere (another thread, or a custom SIGINT handler installed by the user) a KeyboardInterrupt is
  caught and turned into the same cancel request.
* The caller waits for the worker to report that ``call`` has returned, through a ``threading.Event``
  set by the worker itself, never through ``Thread.is_alive()``/``Thread.join()``: on CPython <= 3.12 a
  ``join()`` interrupted by KeyboardInterrupt leaves ``is_alive()`` False for a thread that is still
  running (the C++ call would go on writing into the result, and the interpreter could abort at exit).
  So when ``run_with_control`` returns, the C++ call has finished and nothing writes into the result.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, Callable, Tuple

from . import _core


def in_jupyter_kernel() -> bool:
    """True when running inside a Jupyter (IPython) kernel, where stderr is not a TTY but a bar is shown."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001 - a broken or partial IPython means "not a kernel"
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def progress_default() -> bool:
    """Progress bars are on in an interactive terminal and in a Jupyter kernel, off in CI and when stderr is
    redirected."""
    if os.environ.get("CI"):
        return False
    if in_jupyter_kernel():
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def bar_class() -> Any:
    """The tqdm class to use: the notebook widget under a Jupyter kernel when ipywidgets is installed (as
    ``tqdm.auto`` would pick), else the text bar (which a notebook shows too, as stderr text)."""
    if in_jupyter_kernel():
        try:
            import ipywidgets  # type: ignore[import-not-found]  # noqa: F401
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm
        except ImportError:
            pass
    from tqdm.std import tqdm as text_tqdm

    return text_tqdm


class _SigintToCancel:
    """While active (main thread only, default SIGINT handler in place), SIGINT sets control.cancel."""

    def __init__(self, control: Any) -> None:
        self.control = control
        self.hits = 0
        self.previous: Any = None
        self.active = False

    def _handler(self, signum: int, frame: Any) -> None:
        self.hits += 1
        self.control.cancel()

    def __enter__(self) -> _SigintToCancel:
        if threading.current_thread() is threading.main_thread():
            try:
                current = signal.getsignal(signal.SIGINT)
                if current is signal.default_int_handler:
                    self.previous = signal.signal(signal.SIGINT, self._handler)
                    self.active = True
            except (ValueError, OSError):  # not the main interpreter / signals unavailable
                self.active = False
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.active:
            signal.signal(signal.SIGINT, self.previous)
            self.active = False


def run_with_control(
    call: Callable[[Any], Any],
    *,
    total: int,
    progress: bool | None = None,
    desc: str = "",
    unit: str = "run",
    poll_seconds: float = 0.1,
    counter: str = "done",
) -> Tuple[Any, bool]:
    """Run ``call(control)`` in a thread; return ``(result, interrupted)``.

    ``call`` must release the GIL, count its progress in ``control.done`` (jobs) or ``control.epochs``
    (``counter="epochs"``) and stop soon after ``control.cancelled``. On Ctrl-C the control is cancelled,
    the call is waited for (its partial result is returned with ``interrupted=True``) and further Ctrl-Cs
    are absorbed until it has returned; exceptions raised by the call are re-raised here. When this
    returns, ``call`` has returned: nothing is still writing into its result.
    """
    control = _core.Control()
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = call(control)
        except BaseException as err:  # noqa: BLE001 - re-raised on the calling thread
            outcome["error"] = err
        finally:
            finished.set()

    show = progress_default() if progress is None else bool(progress)
    bar = None
    worker = None
    interrupted = False
    with _SigintToCancel(control) as sigint:
        try:
            if show:
                bar = bar_class()(total=total, desc=desc, unit=unit, dynamic_ncols=True)
            worker = threading.Thread(target=target, name="ghostfast-worker", daemon=True)
            worker.start()
            while True:
                try:
                    while not finished.wait(poll_seconds):
                        if bar is not None:
                            bar.update(min(int(getattr(control, counter)), total) - bar.n)
                    break
                except KeyboardInterrupt:  # only without our handler (see the module docstring)
                    interrupted = True
                    control.cancel()
        finally:
            # Whatever happened above (an error from the bar, an interrupt between two lines), never return
            # while the worker is still inside ``call``.
            while worker is not None and worker.ident is not None and not finished.is_set():
                try:
                    control.cancel()
                    finished.wait(poll_seconds)
                except KeyboardInterrupt:
                    interrupted = True
            if bar is not None:
                try:
                    bar.update(min(int(getattr(control, counter)), total) - bar.n)
                    bar.close()
                except KeyboardInterrupt:
                    interrupted = True
        interrupted = interrupted or sigint.hits > 0
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value"), interrupted
