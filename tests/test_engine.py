"""The one engine: a step changes weights, the loss improves, seeds repeat, multi-step calls
(with and without XLA) equal single steps, the NaN guard, outputs, penalties and resume."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from vae_tf.engine import Engine, Objective
from vae_tf.errors import TrainingDiverged
from vae_tf.models import VAE
from vae_tf.rundir import RunDir
from vae_tf.elbo import ELBO
from vae_tf.evaluation import evaluate, reconstruct


def _engine(data, seed=0, lr=1e-3, batch=30, **kw):
    keras.utils.set_random_seed(seed)
    vae = VAE(64, 4, 32, seed=seed)
    return vae, Engine(ELBO(vae, tf.random.Generator.from_seed(seed)), [data], batch, lr,
                       seed=seed, **kw)


def _weights(vae):
    return [v.numpy().copy() for v in vae.trainable_variables]


def test_a_step_changes_every_weight_and_evaluate_changes_none(tiny_data):
    vae, engine = _engine(tiny_data.train[:32], batch=32)
    before = _weights(vae)
    evaluate(vae, tiny_data.test)
    reconstruct(vae, tiny_data.test)
    assert all(np.array_equal(a, b) for a, b in zip(before, _weights(vae)))
    history = engine.fit(1)
    assert {"train/loss", "train/reconstruction", "train/kl"} <= set(history[0])
    assert all(not np.array_equal(a, b) for a, b in zip(before, _weights(vae)))
    assert int(engine.optimizer.iterations.numpy()) == 1


def test_loss_improves_over_50_steps_on_fixed_data(tiny_data):
    _, engine = _engine(tiny_data.train[:64], lr=3e-3, batch=64, shuffle=False)
    losses = [h["train/loss"] for h in engine.fit(50)]
    assert losses[-1] < 0.8 * losses[0], (losses[0], losses[-1])


@pytest.mark.slow  # over 10 s here: several fits and their tracing
def test_same_seed_same_losses_and_every_row_once_per_epoch(tiny_data):
    def run():
        _, engine = _engine(tiny_data.train, seed=5, steps_per_call=4)
        return [h["train/loss"] for h in engine.fit(2)], engine

    (a, engine), (b, _) = run(), run()
    assert a == b and a[1] < a[0]
    # 200 examples / batch 30: 6 full batches and one of 20, in two calls of 4 steps, the
    # last batch padded to 30 rows and the last call to 4 steps (one of size 0).
    calls = engine.epoch_rows(0)
    assert [r.shape for r, _ in calls] == [(4, 30), (4, 30)]
    assert [list(s) for _, s in calls] == [[30, 30, 30, 30], [30, 30, 20, 0]]
    real = np.concatenate([r[i, :s[i]] for r, sizes in calls for i, s in [(j, sizes) for j in
                                                                           range(4)]])
    assert sorted(real) == list(range(200))
    assert not np.array_equal(calls[0][0], engine.epoch_rows(1)[0][0])  # reshuffled per epoch


@pytest.mark.parametrize("jit", [False, True])
def test_several_steps_per_call_equal_single_steps(tiny_data, jit):
    """K steps in one compiled call give the losses of K calls of one step (XLA on or off)."""
    runs = []
    for steps_per_call in (1, 4):
        _, engine = _engine(tiny_data.train, seed=2, steps_per_call=steps_per_call,
                            jit_compile=jit)
        runs.append([h["train/loss"] for h in engine.fit(3)])
    np.testing.assert_allclose(runs[0], runs[1], rtol=2e-5)


class _Quadratic(Objective):
    """loss = (w - x)^2 per example, plus an optional penalty; outputs x + w."""

    output_names = ("shifted",)

    def __init__(self, penalty=0.0, poison_at=None):
        self.w = tf.Variable(0.0)
        self.rng = tf.random.Generator.from_seed(0)
        self._penalty, self.poison_at, self.seen = penalty, poison_at, []

    @property
    def trainable_variables(self):
        return [self.w]

    def trackables(self):
        return {"w": self.w}

    def terms(self, batch):
        (x,) = batch
        loss = tf.square(self.w - x)
        if self.poison_at is not None:
            loss = tf.where(x == self.poison_at, np.nan, loss)
        return {"loss": loss, "shifted": x + self.w}

    def penalty(self):
        return tf.constant(self._penalty) if self._penalty else None

    def apply_outputs(self, index, outputs):
        self.seen.append((index.copy(), outputs["shifted"].copy()))


def test_outputs_reach_the_objective_and_penalties_count_once():
    x = np.arange(10, dtype=np.float32)
    objective = _Quadratic(penalty=2.5)
    engine = Engine(objective, [x], 4, 0.1, steps_per_call=2, shuffle=False)
    history = engine.fit(1)
    # 10 rows, batches of 4: calls of 2 steps, [4, 4] and [2 (padded to 4), 0] rows.
    assert [r.shape for r, _ in objective.seen] == [(8,), (2,)]
    rows, shifted = objective.seen[-1]
    np.testing.assert_array_equal(rows, [8, 9])
    w_seen = shifted - x[[8, 9]]  # the outputs come from the forward pass before the update
    assert abs(w_seen[0] - w_seen[1]) < 1e-6 and abs(w_seen[0] - objective.w.numpy()) > 1e-3
    assert np.isfinite(history[0]["train/loss"])
    # On zeros w gets no gradient (the penalty is constant): every step's loss is 0 + 2.5.
    still = Engine(_Quadratic(penalty=2.5), [np.zeros(10, np.float32)], 4, 0.1, steps_per_call=2)
    assert still.fit(1)[0]["train/loss"] == pytest.approx(2.5)


def test_a_non_finite_loss_stops_with_the_step_named():
    engine = Engine(_Quadratic(poison_at=7.0), [np.arange(10, dtype=np.float32)], 2, 0.1,
                    shuffle=False)
    with pytest.raises(TrainingDiverged, match=r"at epoch 1, step 4 .*no checkpoint"):
        engine.fit(2)


@pytest.mark.slow  # over 10 s here: several fits and their tracing
def test_resume_continues_exactly_where_an_uninterrupted_run_would_be(tiny_data, tmp_path):
    def fresh(run):
        _, engine = _engine(tiny_data.train, seed=3, steps_per_call=3, run=run)
        return engine

    straight = fresh(None).fit(4)
    run = RunDir(str(tmp_path / "r"))
    first = fresh(run)
    first.fit(2)
    run.close()
    run = RunDir(str(tmp_path / "r"))
    resumed = fresh(run)
    assert resumed.start_epoch == 2 and len(resumed.history) == 2
    history = resumed.fit(4)
    run.close()
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    np.testing.assert_allclose([h["train/loss"] for h in history],
                               [h["train/loss"] for h in straight], rtol=1e-5)


def test_evaluate_is_repeatable_and_does_not_retrace(tiny_data):
    vae, _ = _engine(tiny_data.train)
    assert evaluate(vae, tiny_data.test, seed=3) == evaluate(vae, tiny_data.test, seed=3)
    evaluate(vae, tiny_data.train, seed=4, batch_size=64)
    assert vae._eval[0].experimental_get_tracing_count() == 1


def test_the_epoch_line_and_the_scalars_of_a_record():
    from vae_tf import engine, progress
    record = {"epoch": 3, "seconds": 1.5, "train/loss": 1.23456, "train/kl": 0.3,
              "train/learning_rate": 0.01, "test/loss": 1.4}
    assert progress.epoch_line(record) == "train: loss 1.235, kl 0.3 | test: loss 1.4"
    assert progress.grouped_scalars(record) == {
        "train": {"loss": 1.23456, "kl": 0.3, "learning_rate": 0.01}, "test": {"loss": 1.4}}
    assert progress.progress_bar(5, verbose=2) is None
    assert progress.progress_bar(5, verbose=1).target == 5
    assert engine.default_verbosity is progress.default_verbosity  # train_run.py imports it there


def test_xla_is_refused_past_half_the_memory_mappings(tiny_data, monkeypatch, caplog):
    """TensorFlow never frees XLA code: past XLA_MAPPINGS_SHARE of vm.max_map_count an engine
    compiles without XLA, says so once, and trains exactly as jit_compile=False does."""
    from vae_tf import engine as engine_module
    assert engine_module.mappings_used() is not None  # Linux: both /proc files read
    losses = {}
    _, plain = _engine(tiny_data.train, seed=2, jit_compile=False)
    assert not plain.xla
    without = [h["train/loss"] for h in plain.fit(2)]
    for share in (1.0, 0.0):  # the limit far away, then already passed
        monkeypatch.setattr(engine_module, "XLA_MAPPINGS_SHARE", share)
        monkeypatch.setattr(engine_module, "_said_no_xla", [])
        caplog.clear()
        runs = []
        for _ in range(2):
            _, engine = _engine(tiny_data.train, seed=2, jit_compile=True)
            runs.append(engine)
        assert all(e.xla is (share == 1.0) for e in runs)
        said = [r for r in caplog.records if "vm.max_map_count" in r.getMessage()]
        assert len(said) == (0 if share == 1.0 else 1)  # once per process, not per engine
        losses[share] = [h["train/loss"] for h in runs[0].fit(2)]
    assert losses[0.0] == without and losses[1.0] != without  # XLA's rounding differs
