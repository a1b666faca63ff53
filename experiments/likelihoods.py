"""Which likelihood suits which grey-level data set.

Trains the same MLP VAE with each likelihood of `--likelihood` (Bernoulli, the thesis's;
continuous Bernoulli; Gaussian with a learned per-pixel sigma; Gaussian with sigma fixed
at 0.1) and compares what the likelihoods have in common: the test reconstruction error
of the decoded mean at the posterior mean, and how the samples look (and whether the
posterior collapsed: the test KL and latent units in use). The -ELBO of one
likelihood is not comparable with another's (a mass on {0, 1} against densities on
[0, 1] or the real line), so it is reported but not ranked.

    python experiments/likelihoods.py --quick              # a minute, offline
    python experiments/likelihoods.py --data_root=../shared/data
"""

import dataclasses
import os
import sys
from typing import Optional

if not __package__:  # python experiments/likelihoods.py: import the package, not its files
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import flags, logging  # noqa: E402

from experiments import scaffold  # noqa: E402
from experiments.common import Row, kl_explained, kl_row  # noqa: E402


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(scaffold.Config):
    """likelihoods' budget: the datasets, the epochs, the likelihoods compared."""

    datasets: tuple  # --quick: MNIST only, as its bundled mnist_5k
    epochs: int  # on MNIST and OMNIGLOT
    face_epochs: int  # on the (small) face datasets
    n_train: Optional[int]  # first training images used (None: all)
    n_test: Optional[int]  # first test images used (None: all)
    likelihoods: tuple  # (label, likelihood, sigma) of each run on a dataset


def get_config(quick: bool) -> Config:
    # 20 min at least: the 12 runs' training alone took 1,190 s (likelihoods.md's notes); its
    # 40 s wall time is a rewrite from the finished run folders.
    return Config(table="likelihoods", stage=scaffold.Stage("beyond", False, (20, 1)),
                  datasets=("mnist",) if quick else ("mnist", "omniglot_en", "orl_faces"),
                  epochs=2 if quick else 30, face_epochs=2 if quick else 300,
                  n_train=2000 if quick else None, n_test=500 if quick else None,
                  likelihoods=(("Bernoulli", "bernoulli", 0.0),
                               ("continuous Bernoulli", "cbernoulli", 0.0),
                               ("Gaussian, learned sigma", "gaussian", 0.0),
                               ("Gaussian, sigma 0.1", "gaussian", 0.1)))


def define_flags() -> None:
    flags.DEFINE_list("datasets", None, "Datasets to run (yale_faces too: about 80 min more "
                      "here, 4 x 300 epochs of 32,256-pixel images).")
    flags.DEFINE_integer("epochs", None, "Epochs on MNIST and OMNIGLOT.", lower_bound=1)
    flags.DEFINE_integer("face_epochs", None, "Epochs on the (small) face datasets.",
                         lower_bound=1)


def run_dataset(run: scaffold.Run, name: str, rows, panels, notes, reads) -> None:
    from experiments.ledger import headline, image_split
    from vae_tf.config import make_config
    from vae_tf.errors import TrainingDiverged, UserError
    from vae_tf.train_run import run_train

    c, source = run.config, run.dataset(name)
    try:
        data = run.load(source)
    except UserError as e:
        rows.append(Row(name, "test RMSE", None, note="not run here: no data"))
        notes.append(f"{name}: {e}")
        return
    split = image_split(source)  # before any training: one outside ledger.SPLITS stops here
    faces = name in ("orl_faces", "yale_faces")
    epochs = c.face_epochs if faces else c.epochs
    data = scaffold.first(data, c.n_train, c.n_test)
    batch = min(100, len(data.train))
    scored = []  # (likelihood, test RMSE), the first likelihood's the headline
    for label, likelihood, sigma in c.likelihoods:
        tag = f"{likelihood}-{sigma:g}"
        logdir = os.path.join(run.log_root, f"{c.table}-{name}-{tag}")
        config = make_config("default", dataset=source, epochs=epochs, seed=c.seed,
                             logdir=logdir, batch_size=batch, likelihood=likelihood, sigma=sigma)
        try:
            metrics = run_train(config, data=data, verbose=0)
        except TrainingDiverged as e:
            rows.append(Row(f"{name}, {label}", "test RMSE", None, note="diverged"))
            notes.append(f"{name}, {label}: {e}")
            scored.append((f"{label} (diverged)", None))
            continue
        note = f"{epochs} epochs, {metrics['train_seconds']:.0f} s"
        rows.append(Row(f"{name}, {label}", "test RMSE", metrics["reconstruction_rmse"],
                        note=note))
        rows.append(Row(f"{name}, {label}", "test MAE", metrics["reconstruction_mae"]))
        rows.append(Row(f"{name}, {label}", "test -ELBO (own likelihood)", metrics["test_loss"]))
        rows.append(kl_row(f"{name}, {label}", metrics))
        panels.append((name, label, logdir, data.image_shape))
        scored.append((label, metrics["reconstruction_rmse"]))
    read = headline(split, "test RMSE", scored, f"default preset, {epochs} epochs")
    if read:
        reads.append(read)


def sample_sheets(panels, folder: str, seed: int) -> list:
    """A figure per data set: a labelled row of ten prior draws per likelihood (the same
    z for every likelihood, each decoded to its likelihood's mean)."""
    import numpy as np
    from vae_tf import plots
    from vae_tf.models import load_model
    from vae_tf.evaluation import sample
    paths = []
    for name in sorted({p[0] for p in panels}, key=[p[0] for p in panels].index):
        rows = [p for p in panels if p[0] == name]
        models = [load_model(logdir) for _, _, logdir, _ in rows]
        z = np.random.default_rng(seed).standard_normal((10, models[0].latent_dim))
        paths.append(plots.image_rows(
            os.path.join(folder, f"samples_{name}.png"),
            [sample(m, z.astype(np.float32)) for m in models], [p[1] for p in rows],
            rows[0][3], f"{name}: the same ten prior draws decoded under each likelihood"))
    return paths


def main(run: scaffold.Run) -> None:
    logging.set_verbosity(logging.INFO)
    c, rows, panels, notes, reads = run.config, [], [], [], []
    for name in c.datasets:
        logging.info("dataset %s", name)
        run_dataset(run, name, rows, panels, notes, reads)
    figures = sample_sheets(panels, run.figure(), c.seed)
    budget = ("quick: 2,000 / 500 images of mnist_5k, 2 epochs" if run.quick else
              f"{c.epochs} epochs (MNIST, OMNIGLOT), {c.face_epochs} (faces); default "
              "preset (MLP 400 hidden, latent 32, Adam 1e-3, batch 100)")
    notes += [
        "RMSE/MAE: test images vs the likelihood's mean at decoder(z_mean) (sigmoid(logits) "
        "for Bernoulli and Gaussian, the continuous Bernoulli's own mean for it).",
        "A Gaussian's loss is squared error, so it is favoured by an RMSE comparison; the "
        "samples figure shows what each likelihood draws from the prior.",
        "The -ELBO rows are in nats under each run's own likelihood: a Bernoulli mass and a "
        "density are not comparable, and densities on grey levels can be negative.",
        kl_explained("the test images"),
    ]
    print(run.write_table("Likelihoods for grey-level images", "nothing in the thesis (which "
                          "likelihood helps on which data set)", rows, budget, figures, notes,
                          test_reads=reads))


if __name__ == "__main__":
    scaffold.start(get_config, main, define_flags, logs="experiments")
