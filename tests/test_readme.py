"""The README's quickstart is executed as written, so the front page never drifts from the API."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_exactly_two_setup_commands():
    bash = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    assert [b.strip() for b in bash] == ["pip install . && ghostfast demo", 'pip install ".[test]" && python -m pytest']


def test_readme_quickstart_runs_and_says_what_it_claims():
    quickstart = _python_blocks(README.read_text())[0]
    namespace: dict = {}
    exec(compile(quickstart, "README quickstart", "exec"), namespace)
    assert namespace["canonical"].critical_lr(T=100, normalized=False) == 3 * np.pi**4 / (32 * 100**5)
    res, grid = namespace["res"], namespace["grid"]
    assert res.loss[-1] < 0.1 < res.loss[0]  # seed 40 at lr 0.003 has learned by epoch 50 000 (drop ~33 600)
    ghosts = namespace["analysis"].ghosts_1d(res.params)
    assert len(ghosts.kappa) >= 1 and np.all(ghosts.r > 0)
    trapped = grid.trapped.mean(axis=1)
    assert trapped.shape == (4,) and trapped[0] == 0.0 and trapped[-1] == 1.0  # lr 3e-3 learns, 5e-2 is a wall
