"""Are MIWAE's multiple imputations calibrated? (nothing in the thesis)

MIWAE (MLP 1x400, latent 32, K = 5: MIWAEImputer's default model before
experiments/miwae_defaults.py chose another) is trained on the observed entries of N
holed training images and imputes held-out holed test images:
the single imputation E[x_mis | x_obs] (importance sampling, L draws) for RMSE / MAE, and
m multiple imputations by sampling importance resampling with Bernoulli draws
(`multiple_imputation(draw="sample")`), whose per-entry central 90 % intervals should
hold the truth 90 % of the time if the model's predictive p(x_mis | x_obs) is right.

The images are binarized once (seeded Bernoulli draws from the grey levels, train and
test alike), so the truth is 0/1 and the Bernoulli likelihood is the data's actual
distribution; a 0/1 draw can never equal a grey level, so grey truth would be unsound.
Because 0/1 values tie, coverage is counted with the randomized PIT (vae_tf/calibration.py:
exactly 90 % for a calibrated predictive); the plain [q5 %, q95 %] interval coverage,
which a calibrated discrete predictive puts well above 90 %, is reported beside it.

    python experiments/miwae_coverage.py --quick
    python experiments/miwae_coverage.py --data_root=../shared/data
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from common import REPO, Row, output_dirs, write_table  # noqa: E402
from vae_tf.datasets import data_dir_for  # noqa: E402

SCHEMES = ("structured", "random")
flags.DEFINE_bool("quick", False, "A half-minute run on mnist_5k (a fixed small budget), "
                  "written to a temporary folder.")
flags.DEFINE_string("data_root", os.environ.get("VAE_TF_DATA_DIR"), "Folder like shared/data.")
flags.DEFINE_list("missing", list(SCHEMES), "Hole schemes, one table block each.")
flags.DEFINE_integer("n_train", 20000, "Holed training images (the first N of MNIST's train).")
flags.DEFINE_integer("n_test", 5000, "Holed test images evaluated (the first N of the test set).")
flags.DEFINE_integer("epochs", 100, "Training epochs of MIWAE per scheme.")
flags.DEFINE_integer("m", 100, "Multiple imputations per test image.")
flags.DEFINE_integer("impute_samples", 1000, "Importance samples L of q(z | x_obs).")
flags.DEFINE_integer("seed", 0, "Seed of the binarization, the holes, the model and the draws.")
flags.DEFINE_string("out_dir", None, "Where the table goes (default experiments/results; "
                    "with --quick a new temporary folder).")
flags.register_validator("missing", lambda v: bool(v) and set(v) <= set(SCHEMES),
                         f"--missing takes a comma-separated subset of {', '.join(SCHEMES)}")
for _name in ("n_train", "n_test", "epochs", "m", "impute_samples"):
    flags.register_validator(_name, lambda v: v >= 1, f"--{_name} must be at least 1")
FLAGS = flags.FLAGS

NAME = "miwae_coverage"
LEVEL = 0.9
FIGURE_DIGITS, FIGURE_DRAWS, CHUNK = 8, 6, 250
T0 = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - T0:7.1f} s] {message}", flush=True)


def portable_argv() -> None:
    """Path flags relative to the repository: the recorded command holds no absolute path."""
    for i, arg in enumerate(sys.argv):
        flag, sep, value = arg.partition("=")
        if sep and flag in ("--data_root", "--out_dir") and os.path.isabs(value):
            sys.argv[i] = f"{flag}={os.path.relpath(value, REPO)}"


def binarize(x, seed):
    """One fixed Bernoulli draw per pixel from its grey level: float32 0/1."""
    return (np.random.default_rng(seed).random(x.shape) < x).astype(np.float32)


def budget(quick):
    size = dict(n_train=2000, n_test=100, epochs=3, m=20, impute_samples=100) if quick else {}
    return {k: size.get(k, getattr(FLAGS, k)) for k in
            ("n_train", "n_test", "epochs", "m", "impute_samples")}


def evaluate(scheme, train, test, b, figures, out_dir):
    """Train on `scheme` holes, impute the held-out test images: (table rows, notes)."""
    from vae_tf import calibration
    from vae_tf.imputers.miwae import MIWAEImputer
    from vae_tf.metrics import mae, rmse
    from vae_tf.missing import apply_mask, make_mask
    seed = FLAGS.seed
    train_holed = apply_mask(train, make_mask(len(train), (28, 28, 1), scheme, seed + 4))
    mask = make_mask(len(test), (28, 28, 1), scheme, seed + 5)
    test_holed, hole = apply_mask(test, mask), ~mask
    say(f"{scheme}: training MIWAE on {len(train)} holed images, {b['epochs']} epochs")
    t = time.perf_counter()
    imputer = MIWAEImputer(latent_dim=32, hidden_dim=400, hidden_layers=1, epochs=b["epochs"],
                           train_samples=5, impute_samples=b["impute_samples"], seed=seed,
                           verbose=0 if FLAGS.quick else 2).fit(train_holed)
    trained = time.perf_counter() - t
    say(f"{scheme}: trained in {trained:.0f} s; single imputation of {len(test)} test images")
    single = imputer.transform(test_holed)
    column_means = np.where(mask, test_holed, np.nanmean(train_holed, axis=0))
    covered = {"pit": 0, "interval": 0}
    width, count, pit_hist = 0.0, 0, np.zeros(20)
    rng = np.random.default_rng(seed + 9)
    for c, s in enumerate(range(0, len(test), CHUNK)):
        rows = slice(s, s + CHUNK)
        draws = imputer.multiple_imputation(test_holed[rows], b["m"], seed=seed + 100 + c)
        truth, where = test[rows], hole[rows]
        u = calibration.randomized_pit(truth, draws, rng)[where]
        covered["pit"] += int(np.sum((u >= (1 - LEVEL) / 2) & (u <= (1 + LEVEL) / 2)))
        lower, upper = calibration.central_interval(draws, LEVEL)
        covered["interval"] += int(np.sum(((lower <= truth) & (truth <= upper))[where]))
        width += float(np.sum((upper - lower)[where]))
        count += int(where.sum())
        pit_hist += np.histogram(u, bins=20, range=(0, 1))[0]
        if c == 0:
            picked = np.flatnonzero(where.any(1))[:FIGURE_DIGITS]
            figure(scheme, figures, out_dir, test[picked], test_holed[picked], single[picked],
                   draws[:FIGURE_DRAWS, picked], b["m"])
        say(f"{scheme}: {b['m']} imputations of test images {s}..{min(s + CHUNK, len(test))}")
    ess = imputer.effective_sample_size(test_holed[hole.any(1)][:500])  # a diagnostic of SIR
    label = f"{scheme} holes, MIWAE (L={b['impute_samples']}, m={b['m']})"
    rows = [Row(label, "RMSE missing (single imputation)", rmse(test, single, hole),
                note=f"column means: {rmse(test, column_means, hole):.4f}"),
            Row(label, "MAE missing (single imputation)", mae(test, single, hole)),
            Row(label, "90 % coverage, randomized PIT", covered["pit"] / count,
                note="calibrated: 0.90 exactly"),
            Row(label, "90 % coverage, plain [q5 %, q95 %] interval", covered["interval"] / count,
                note="calibrated 0/1 predictive: >= 0.95"),
            Row(label, "mean width of the 90 % interval", width / count,
                note="= share of holes with interval [0, 1]"),
            Row(label, "median effective sample size of L", float(np.median(ess)),
                note=f"of {len(ess)} holed test images")]
    shares = pit_hist / pit_hist.sum() * 20
    notes = [f"{scheme}: trained {trained:.0f} s, final training bound "
             f"{-imputer.history_[-1]['train/loss']:.2f} nats (observed entries); "
             f"{count:,} missing test entries; randomized PIT histogram, 20 bins, density "
             f"(1 = uniform): " + " ".join(f"{v:.2f}" for v in shares)]
    return rows, notes


def figure(scheme, figures, out_dir, truth, holed, single, draws, m):
    """Truth, input, single imputation and a few multiple imputations of the same digits."""
    from vae_tf import plots
    name = "imputations.png" if not figures else f"imputations_{scheme}.png"
    rows = [truth, np.where(np.isnan(holed), 0.5, holed), single, *draws]
    labels = ["truth (binarized)", "input (grey = hole)", "single imputation\n(E[x_mis | x_obs])",
              *[f"imputation {j + 1}" for j in range(len(draws))]]
    title = f"MIWAE, {scheme} holes: {len(draws)} of {m} SIR imputations (Bernoulli draws)"
    figures.append(plots.image_rows(os.path.join(out_dir, NAME, name), rows, labels, (28, 28, 1),
                                    title=title))


def main(_):
    from vae_tf import datasets
    from vae_tf.errors import UserError
    out_dir, _ = output_dirs(FLAGS.out_dir, None, FLAGS.quick)  # --quick: a scratch folder
    b = budget(FLAGS.quick)
    name = "mnist_5k" if FLAGS.quick else "mnist"
    try:
        data = datasets.load(name, data_dir_for(name, FLAGS.data_root))
    except UserError as error:
        raise app.UsageError(str(error)) from None
    if b["n_train"] > len(data.train) or b["n_test"] > len(data.test):
        raise app.UsageError(f"--n_train={b['n_train']} / --n_test={b['n_test']}: {name} has "
                             f"{len(data.train)} training and {len(data.test)} test images")
    train = binarize(data.train[:b["n_train"]], FLAGS.seed + 7)
    test = binarize(data.test[:b["n_test"]], FLAGS.seed + 8)
    say(f"{name}: {len(train)} training and {len(test)} test images, binarized")
    rows, notes, figures = [], [], []
    for scheme in FLAGS.missing:
        r, n = evaluate(scheme, train, test, b, figures, out_dir)
        rows += r
        notes += n
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
        f"{FIGURE_DRAWS} of their m imputations; the first scheme's is imputations.png."]
    desc = ("quick: mnist_5k" if FLAGS.quick else "MNIST") + (
        f", {b['n_train']:,} holed training images, {b['n_test']:,} holed test images; MIWAE "
        f"MLP 1x400, latent 32, K=5, Adam 1e-3, batch 100, {b['epochs']} epochs per scheme; "
        f"L={b['impute_samples']}, m={b['m']}")
    portable_argv()
    path = write_table(NAME, "MIWAE multiple imputation: coverage of 90 % intervals (binarized "
                       "MNIST)", "nothing in the thesis (calibration of multiple imputations)", rows, desc,
                       FLAGS.seed, figures=figures, notes=notes, out_dir=out_dir)
    say(f"wrote {path}")


if __name__ == "__main__":
    app.run(main)
