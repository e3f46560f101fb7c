"""`ghostfast demo --quick`: the README's main job runs, writes its figure and measures the critical lr."""

import re

from ghostfast import canonical, cli


def test_demo_quick(tmp_path, capsys):
    code = cli.main(["demo", "--quick", "--out", str(tmp_path), "--threads", "2"])
    out = capsys.readouterr().out
    assert code == 0
    png = tmp_path / "final_loss_vs_lr.png"
    assert png.exists() and png.stat().st_size > 1000
    assert str(png) in out
    match = re.search(r"measured critical lr .*?= ([0-9.]+e[-+][0-9]+)", out)
    assert match, out
    measured = float(match.group(1))
    # Within 10 % of 3 pi^4 / (32 T^5) at T = 100 (spec section 8 target 4 tolerance).
    analytic = canonical.critical_lr(100.0, normalized=False)
    assert abs(measured / analytic - 1) < 0.10
