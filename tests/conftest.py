import os
import signal

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # plot tests check returned Axes/Figures, never pixels or windows
os.environ.setdefault("CI", "1")  # progress bars off inside tests unless a test turns them on


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20250104)


def pytest_configure(config):
    # A shell's background job starts with SIGINT ignored, and ghostfast then leaves it ignored (as it must).
    # The Ctrl-C tests need what an interactive Python has: the default handler (child processes started
    # afterwards get the default disposition back too).
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # A build without OpenMP warns once when n_threads > 1 is asked for (tested on its own in test_package.py);
    # the rest of the suite then runs the serial fallback, so that one message must not fail every test.
    import ghostfast

    if not ghostfast.has_openmp:
        config.addinivalue_line("filterwarnings", "ignore:ghostfast was built without OpenMP:RuntimeWarning")
