"""Seeds: every random stream in the core is keyed by two 64-bit words from numpy's SeedSequence plus a
stream index (the run index), so results depend only on (seed, run index)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Union

import numpy as np

SeedLike = Union[int, np.random.SeedSequence, None]


@dataclass(frozen=True)
class SeedKey:
    """The 128-bit key passed to the C++ core, and the entropy to record for reproducibility."""

    key0: int
    key1: int
    entropy: int


def seed_key(seed: SeedLike, name: str = "seed") -> SeedKey:
    """Turn an int (>= 0), a SeedSequence or None (fresh OS entropy) into a SeedKey."""
    if isinstance(seed, np.random.SeedSequence):
        ss = seed
    elif seed is None:
        ss = np.random.SeedSequence()
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if int(seed) < 0:
            raise ValueError(f"{name} must be >= 0, got {int(seed)}")
        ss = np.random.SeedSequence(int(seed))
    else:
        raise TypeError(f"{name} must be an int >= 0, a numpy SeedSequence or None, got {type(seed).__name__}")
    words = ss.generate_state(2, np.uint64)
    return SeedKey(int(words[0]), int(words[1]), int(ss.entropy))  # type: ignore[arg-type]  # int seeds only
