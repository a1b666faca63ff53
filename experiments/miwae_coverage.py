"""Are MIWAE's multiple imputations calibrated? (nothing in the thesis)

MIWAE (MLP 1x400, latent 32, K = 5: MIWAEImputer's default model before
experiments/miwae_defaults.py chose another) is trained on the observed entries of N
holed training images and imputes held-out holed test images:
the single imputation E[x_mis | x_obs] (importance sampling, L draws) for RMSE / MAE, and
m multiple imputations by sampling importance resampling with Bernoulli draws
(`multiple_imputation(draw="sample")`), whose per-entry central 90 % intervals should
hold the truth 90 % of the time if the model's predictive p(x_mis | x_obs) is right.
Beside them, the model's test KL of q(z | x_obs), its latent units in use and the collapse
flag (vae_tf/collapse.py).

The images are binarized once (seeded Bernoulli draws from the grey levels, train and
test alike), so the truth is 0/1 and the Bernoulli likelihood is the data's actual
distribution; a 0/1 draw can never equal a grey level, so grey truth would be unsound.
Because 0/1 values tie, coverage is counted with the randomized PIT (vae_tf/calibration.py:
exactly 90 % for a calibrated predictive); the plain [q5 %, q95 %] interval coverage,
which a calibrated discrete predictive puts well above 90 %, is reported beside it.

    python experiments/miwae_coverage.py --quick
    python experiments/miwae_coverage.py --data_root=../shared/data
"""

import dataclasses
import os
import sys
import time

if not __package__:  # python experiments/miwae_coverage.py: import the package, not its files
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

from experiments import scaffold  # noqa: E402
from experiments.common import Row, diagnoses, kl_explained, kl_row  # noqa: E402
from experiments.holes import TEST, TRAIN, holes  # noqa: E402

SCHEMES = ("structured", "random")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(scaffold.Config):
    """miwae_coverage's budget."""

    missing: tuple  # hole schemes, one table block each
    n_train: int  # holed training images: the first N of the training set
    n_test: int  # holed test images evaluated: the first N of the test set
    epochs: int  # of MIWAE, per scheme
    m: int  # multiple imputations per test image
    impute_samples: int  # importance samples L of q(z | x_obs)


def get_config(quick: bool) -> Config:
    return Config(table="miwae_coverage", stage=scaffold.Stage("beyond", False, (36, 1)),
                  missing=SCHEMES, n_train=2000 if quick else 20000,
                  n_test=100 if quick else 5000, epochs=3 if quick else 100,
                  m=20 if quick else 100, impute_samples=100 if quick else 1000)


def define_flags() -> None:
    scaffold.define_subset("missing", SCHEMES, "Hole schemes, one table block each.")
    for name, what in (("n_train", "Holed training images (the first N of MNIST's train)."),
                       ("n_test", "Holed test images evaluated (the first N of the test set)."),
                       ("epochs", "Training epochs of MIWAE per scheme."),
                       ("m", "Multiple imputations per test image."),
                       ("impute_samples", "Importance samples L of q(z | x_obs).")):
        flags.DEFINE_integer(name, None, what, lower_bound=1)


LEVEL = 0.9
FIGURE_DIGITS, FIGURE_DRAWS, CHUNK = 8, 6, 250
T0 = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - T0:7.1f} s] {message}", flush=True)


def binarize(x, seed):
    """One fixed Bernoulli draw per pixel from its grey level: float32 0/1."""
    return (np.random.default_rng(seed).random(x.shape) < x).astype(np.float32)


def evaluate(run: scaffold.Run, scheme, train, test, figures):
    """Train on `scheme` holes, impute the held-out test images: (table rows, notes, the
    scores the ledger takes: PIT coverage, RMSE missing, the column means' RMSE)."""
    from vae_tf import calibration
    from vae_tf.imputers.miwae import MIWAEImputer
    from vae_tf.metrics import mae, rmse
    c = run.config
    seed = c.seed
    train_holed = holes(train, scheme, seed + TRAIN)[0]
    test_holed, mask = holes(test, scheme, seed + TEST)
    hole = ~mask
    say(f"{scheme}: training MIWAE on {len(train)} holed images, {c.epochs} epochs")
    t = time.perf_counter()
    imputer = MIWAEImputer(latent_dim=32, hidden_dim=400, hidden_layers=1, epochs=c.epochs,
                           train_samples=5, impute_samples=c.impute_samples, seed=seed,
                           verbose=0 if run.quick else 2).fit(train_holed)
    trained = time.perf_counter() - t
    say(f"{scheme}: trained in {trained:.0f} s; single imputation of {len(test)} test images")
    single = imputer.transform(test_holed)
    column_means = np.where(mask, test_holed, np.nanmean(train_holed, axis=0))
    covered = {"pit": 0, "interval": 0}
    width, count, pit_hist = 0.0, 0, np.zeros(20)
    rng = np.random.default_rng(seed + 9)
    m = c.m
    for chunk, s in enumerate(range(0, len(test), CHUNK)):
        rows = slice(s, s + CHUNK)
        draws = imputer.multiple_imputation(test_holed[rows], m, seed=seed + 100 + chunk)
        truth, where = test[rows], hole[rows]
        u = calibration.randomized_pit(truth, draws, rng)[where]
        covered["pit"] += int(np.sum((u >= (1 - LEVEL) / 2) & (u <= (1 + LEVEL) / 2)))
        lower, upper = calibration.central_interval(draws, LEVEL)
        covered["interval"] += int(np.sum(((lower <= truth) & (truth <= upper))[where]))
        width += float(np.sum((upper - lower)[where]))
        count += int(where.sum())
        pit_hist += np.histogram(u, bins=20, range=(0, 1))[0]
        if chunk == 0:
            picked = np.flatnonzero(where.any(1))[:FIGURE_DIGITS]
            figure(run, scheme, figures, test[picked], test_holed[picked], single[picked],
                   draws[:FIGURE_DRAWS, picked], m)
        say(f"{scheme}: {m} imputations of test images {s}..{min(s + CHUNK, len(test))}")
    ess = imputer.effective_sample_size(test_holed[hole.any(1)][:500])  # a diagnostic of SIR
    label = f"{scheme} holes, MIWAE (L={c.impute_samples}, m={m})"
    scores = (covered["pit"] / count, rmse(test, single, hole), rmse(test, column_means, hole))
    rows = [Row(label, "RMSE missing (single imputation)", scores[1],
                note=f"column means: {scores[2]:.4f}"),
            Row(label, "MAE missing (single imputation)", mae(test, single, hole)),
            Row(label, "90 % coverage, randomized PIT", covered["pit"] / count,
                note="calibrated: 0.90 exactly"),
            Row(label, "90 % coverage, plain [q5 %, q95 %] interval", covered["interval"] / count,
                note="calibrated 0/1 predictive: >= 0.95"),
            Row(label, "mean width of the 90 % interval", width / count,
                note="= share of holes with interval [0, 1]"),
            Row(label, "median effective sample size of L", float(np.median(ess)),
                note=f"of {len(ess)} holed test images"),
            kl_row(label, diagnoses(imputer, test_holed))]
    shares = pit_hist / pit_hist.sum() * 20
    notes = [f"{scheme}: trained {trained:.0f} s, final training bound "
             f"{-imputer.history_[-1]['train/loss']:.2f} nats (observed entries); "
             f"{count:,} missing test entries; randomized PIT histogram, 20 bins, density "
             f"(1 = uniform): " + " ".join(f"{v:.2f}" for v in shares)]
    return rows, notes, scores


def figure(run: scaffold.Run, scheme, figures, truth, holed, single, draws, m):
    """Truth, input, single imputation and a few multiple imputations of the same digits."""
    from vae_tf import plots
    name = "imputations.png" if not figures else f"imputations_{scheme}.png"
    rows = [truth, np.where(np.isnan(holed), 0.5, holed), single, *draws]
    labels = ["truth (binarized)", "input (grey = hole)", "single imputation\n(E[x_mis | x_obs])",
              *[f"imputation {j + 1}" for j in range(len(draws))]]
    title = f"MIWAE, {scheme} holes: {len(draws)} of {m} SIR imputations (Bernoulli draws)"
    figures.append(plots.image_rows(run.figure(name), rows, labels, (28, 28, 1), title=title))


def main(run: scaffold.Run) -> None:
    from experiments.ledger import image_split
    from vae_tf.errors import UserError
    c, name = run.config, run.dataset("mnist")
    try:
        data = run.load(name)
    except UserError as error:
        raise SystemExit(f"{run.script}: {error}") from None
    if c.n_train > len(data.train) or c.n_test > len(data.test):
        raise SystemExit(f"{run.script}: --n_train={c.n_train} / --n_test={c.n_test}: {name} "
                         f"has {len(data.train)} training and {len(data.test)} test images; "
                         "pass at most those")
    train = binarize(data.train[:c.n_train], c.seed + 7)
    test = binarize(data.test[:c.n_test], c.seed + 8)
    say(f"{name}: {len(train)} training and {len(test)} test images, binarized")
    rows, notes, figures, reads = [], [], [], []
    for scheme in c.missing:
        r, n, (pit, single, means) = evaluate(run, scheme, train, test, figures)
        rows += r
        notes += n
        reads.append((image_split(name, scheme, binarized=True),
                      f"MIWAE 1x400, latent 32, K=5, {c.epochs} epochs, {len(test):,} test "
                      f"images, L={c.impute_samples}, m={c.m} (RMSE missing {single:.4f}, "
                      f"column means {means:.4f})",
                      "randomized-PIT coverage of 90 % intervals", pit))
    notes += [
        "Binarized MNIST: each pixel a fixed Bernoulli draw from its grey level (train and test, "
        "seeded), so the truth is 0/1 and the Bernoulli decoder is the data's own model.",
        "Imputations: `MIWAEImputer.multiple_imputation(draw='sample')`: resample z_l with "
        "probability w_l among L draws of q(z | x_obs), then x_mis ~ Bernoulli(decoder(z_l)).",
        "Randomized PIT coverage: u = (#{draws < y} + K + V) / (m + 1), K uniform on 0 .. "
        "#{draws = y}, V uniform on [0, 1); covered when 0.05 <= u <= 0.95. If the truth is "
        "one more draw of the predictive, u is uniform and the coverage is 0.90 exactly; "
        "below 0.90 the imputations are too sure of themselves, above too vague.",
        "Plain coverage: y in [q5 %, q95 %] of the m draws (inverted-CDF quantiles). With 0/1 "
        "values the interval is [0, 0], [1, 1] or [0, 1] and holds at least 90 % of the draws, "
        "so a calibrated model covers >= 95 %: not a calibration measure for 0/1 data.",
        "Holes: structured = a fifth of the images each lose the lower, upper, left or right "
        "half, random = half the pixels of four fifths of the images; one fifth stays whole "
        "(experiments/mnist_imputation.py's seeds). Only missing entries count.",
        f"Figures: the first {FIGURE_DIGITS} test images with holes (not selected), the first "
        f"{FIGURE_DRAWS} of their m imputations; the first scheme's is imputations.png.",
        kl_explained("the holed test images, q(z | x_obs) given their observed pixels")]
    desc = ("quick: mnist_5k" if run.quick else "MNIST") + (
        f", {c.n_train:,} holed training images, {c.n_test:,} holed test images; MIWAE "
        f"MLP 1x400, latent 32, K=5, Adam 1e-3, batch 100, {c.epochs} epochs per scheme; "
        f"L={c.impute_samples}, m={c.m}")
    path = run.write_table("MIWAE multiple imputation: coverage of 90 % intervals (binarized "
                           "MNIST)", "nothing in the thesis (calibration of multiple "
                           "imputations)", rows, desc, figures, notes, test_reads=reads)
    say(f"wrote {path}")


if __name__ == "__main__":
    scaffold.start(get_config, main, define_flags)
