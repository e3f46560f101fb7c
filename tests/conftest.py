import os

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # plot tests check returned Axes/Figures, never pixels or windows
os.environ.setdefault("CI", "1")  # progress bars off inside tests unless a test turns them on


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20250104)
