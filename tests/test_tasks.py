"""ghostfast.tasks (the paper's tasks): trial layouts, presets, loss scales, accuracy rules (through the engine) and
validation."""

from __future__ import annotations

import numpy as np
import pytest

from ghostfast import rnn, tasks


def test_delayed_activation_layout():
    t = tasks.delayed_activation(20)
    assert t.inputs.shape == (1, 40, 0) and t.targets.shape == (1, 40, 1) and t.mask.shape == (1, 40, 1)
    np.testing.assert_array_equal(t.targets[0, :, 0], np.r_[np.zeros(20), np.ones(20)])
    np.testing.assert_array_equal(t.mask, 1.0)
    assert t.loss_scale == 1 / 20 and t.accuracy == "binary"


@pytest.mark.parametrize("config,steps", [("A", 22), ("B", 32)])
def test_dcdt_layout(config, steps):
    n_in, n_delay, n_react = tasks.dcdt_config(config)
    t = tasks.dcdt(n_in, n_delay, n_react, samples_per_class=3)
    assert t.inputs.shape == (6, steps, 1) and t.targets.shape == (6, steps, 1)
    cues = np.tile([1.0, -1.0], 3)
    for b, cue in enumerate(cues):
        np.testing.assert_array_equal(t.inputs[b, :, 0], np.r_[np.full(n_in, cue), np.zeros(n_delay + n_react)])
        np.testing.assert_array_equal(t.targets[b, :, 0], np.r_[np.zeros(n_in + n_delay), np.full(n_react, cue)])
    assert t.loss_scale == pytest.approx(1 / (6 * steps), rel=1e-15) and t.accuracy == "ternary"


@pytest.mark.parametrize("config,steps", [("A", 38), ("B", 44)])
def test_dmts_layout(config, steps):
    n_in, n_delay, n_react = tasks.dmts_config(config)
    t = tasks.dmts(n_in, n_delay, n_react, samples_per_class=2)
    assert t.inputs.shape == (8, steps, 1)
    types = [(1, 1), (-1, -1), (-1, 1), (1, -1)] * 2
    for b, (s1, s2) in enumerate(types):
        u = np.r_[np.full(n_in, s1), np.zeros(n_delay), np.full(n_in, s2), np.zeros(n_react)]
        np.testing.assert_array_equal(t.inputs[b, :, 0], u)
        target = np.r_[np.zeros(steps - n_react), np.full(n_react, float(s1 == s2))]
        np.testing.assert_array_equal(t.targets[b, :, 0], target)
    assert t.loss_scale == pytest.approx(1 / (8 * steps), rel=1e-15) and t.accuracy == "binary"


def _constant_output_model(n_out_value: float, output: str) -> tuple[rnn.Model, dict]:
    """A model whose output is g(b_out) at every step (W = 0, w_out = 0)."""
    model = rnn.Model(N=4, rank="full", readout="linear", output=output, read="before", n_in=1)
    p = {g: np.zeros(s) for g, s in rnn.param_shapes(model).items()}
    p["b_out"] = np.array([n_out_value])
    return model, p


def test_accuracy_rules_through_training_records():
    # ternary (DCDT A): y = 0.2 -> class 0 everywhere: right exactly where the target is 0 (12 of 22 steps)
    task = tasks.dcdt(*tasks.dcdt_config("A"))
    model, p = _constant_output_model(0.2, "identity")
    res = rnn.train(model, task, 0.0, 1, params=p, seed=0)
    assert res.accuracy[0] == pytest.approx(12 / 22, rel=1e-15)
    # y = 0.5 -> class +1: right only in the response window of the + trial (10 of 44 entries)
    model, p = _constant_output_model(0.5, "identity")
    assert rnn.train(model, task, 0.0, 1, params=p, seed=0).accuracy[0] == pytest.approx(10 / 44, rel=1e-15)
    # the loss is the MSE mean: y = 0.5 everywhere -> mean of (0.5 - target)^2
    expected = np.mean((0.5 - task.targets) ** 2)
    np.testing.assert_allclose(rnn.train(model, task, 0.0, 1, params=p, seed=0).loss[0], expected, rtol=1e-14)
    # binary (DMTS A): sigmoid(20) > 0.5 everywhere -> right where the target is 1 (2 x 10 of 4 x 38)
    dm = tasks.dmts(*tasks.dmts_config("A"))
    model, p = _constant_output_model(20.0, "sigmoid")
    assert rnn.train(model, dm, 0.0, 1, params=p, seed=0).accuracy[0] == pytest.approx(20 / 152, rel=1e-15)


def test_mask_weights_loss_and_accuracy():
    base = tasks.dcdt(2, 2, 2)
    mask = np.zeros_like(base.targets)
    mask[:, -2:] = 1.0  # only the response window counts
    t = tasks.Task(base.inputs, base.targets, mask, base.loss_scale, "ternary", "masked")
    model, p = _constant_output_model(0.0, "identity")
    res = rnn.train(model, t, 0.0, 1, params=p, seed=0)
    assert res.accuracy[0] == 0.0  # class 0 is wrong everywhere in the response window
    np.testing.assert_allclose(res.loss[0], base.loss_scale * 4.0, rtol=1e-14)  # 4 entries of (0 - +-1)^2


def test_task_validation():
    with pytest.raises(ValueError, match="n_in"):
        tasks.dcdt(0, 1, 1)
    with pytest.raises(ValueError, match="n_delay"):
        tasks.dmts(1, -1, 1)
    with pytest.raises(ValueError, match="samples_per_class"):
        tasks.dmts(1, 1, 1, samples_per_class=0)
    with pytest.raises(TypeError, match="T"):
        tasks.delayed_activation(2.5)
    with pytest.raises(ValueError, match="T"):
        tasks.delayed_activation(0)
    with pytest.raises(ValueError, match="name"):
        tasks.dcdt_config("C")
    with pytest.raises(ValueError, match="inputs"):
        tasks.Task(np.zeros((2, 3, 1)), np.zeros((1, 3, 1)))
    with pytest.raises(ValueError, match="targets"):
        tasks.Task(np.zeros((1, 3, 1)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="mask"):
        tasks.Task(np.zeros((1, 3, 1)), np.zeros((1, 3, 1)), mask=np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="mask"):
        tasks.Task(np.zeros((1, 3, 1)), np.zeros((1, 3, 1)), mask=-np.ones((1, 3, 1)))
    with pytest.raises(ValueError, match="targets"):
        tasks.Task(np.zeros((1, 3, 1)), np.full((1, 3, 1), np.nan))
    with pytest.raises(ValueError, match="loss_scale"):
        tasks.Task(np.zeros((1, 3, 1)), np.zeros((1, 3, 1)), loss_scale=0.0)
    with pytest.raises(ValueError, match="accuracy"):
        tasks.Task(np.zeros((1, 3, 1)), np.zeros((1, 3, 1)), accuracy="exact")


def test_task_arrays_are_read_only_copies():
    inputs = np.zeros((1, 3, 1))
    t = tasks.Task(inputs, np.zeros((1, 3, 1)))
    inputs[0, 0, 0] = 5.0
    assert t.inputs[0, 0, 0] == 0.0
    with pytest.raises(ValueError):
        t.targets[0, 0, 0] = 1.0
