"""Which likelihood suits which grey-level data set.

Trains the same MLP VAE with each likelihood of `--likelihood` (Bernoulli, the thesis's;
continuous Bernoulli; Gaussian with a learned per-pixel sigma; Gaussian with sigma fixed
at 0.1) and compares what the likelihoods have in common: the test reconstruction error
of the decoded mean at the posterior mean, and how the samples look. The -ELBO of one
likelihood is not comparable with another's (a mass on {0, 1} against densities on
[0, 1] or the real line), so it is reported but not ranked.

    python experiments/likelihoods.py --quick              # a minute, offline
    python experiments/likelihoods.py --data_root=../shared/data
"""

import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from common import Row, output_dirs, write_table  # noqa: E402
from vae_tf.datasets import data_dir_for  # noqa: E402

flags.DEFINE_bool("quick", False, "A one-minute budget on small data (mnist_5k).")
flags.DEFINE_string("data_root", os.environ.get("VAE_TF_DATA_DIR"),
                    "Folder laid out like shared/data (default: $VAE_TF_DATA_DIR).")
flags.DEFINE_list("datasets", ["mnist", "omniglot_en", "orl_faces"],
                  "Datasets to run (yale_faces too: about 80 min more here, 4 x 300 epochs "
                  "of 32,256-pixel images).")
flags.DEFINE_integer("epochs", 30, "Epochs on MNIST and OMNIGLOT.")
flags.DEFINE_integer("face_epochs", 300, "Epochs on the (small) face data sets.")
flags.DEFINE_string("out_dir", None, "Where the table and figures go. (default experiments/results; --quick: a temporary folder).")
flags.DEFINE_string("log_root", None, "Run folders (default logs/experiments; --quick: in the temporary folder).")
flags.DEFINE_integer("seed", 0, "Seed of every run.")
FLAGS = flags.FLAGS

NAME = "likelihoods"
# (label, likelihood, sigma)
VARIANTS = [("Bernoulli", "bernoulli", 0.0), ("continuous Bernoulli", "cbernoulli", 0.0),
            ("Gaussian, learned sigma", "gaussian", 0.0),
            ("Gaussian, sigma 0.1", "gaussian", 0.1)]


def run_dataset(name: str, rows, panels, notes) -> None:
    from vae_tf import datasets
    from vae_tf.config import make_config
    from vae_tf.errors import TrainingDiverged, UserError
    from vae_tf.train_run import run_train

    source = "mnist_5k" if FLAGS.quick else name
    try:
        data = datasets.load(source, data_dir_for(source, FLAGS.data_root))
    except UserError as e:
        rows.append(Row(name, "test RMSE", None, note="not run here: no data"))
        notes.append(f"{name}: {e}")
        return
    faces = name in ("orl_faces", "yale_faces")
    epochs = 2 if FLAGS.quick else (FLAGS.face_epochs if faces else FLAGS.epochs)
    if FLAGS.quick:
        data = dataclasses.replace(data, train=data.train[:2000], test=data.test[:500])
    batch = min(100, len(data.train))
    for label, likelihood, sigma in VARIANTS:
        tag = f"{likelihood}-{sigma:g}"
        logdir = os.path.join(FLAGS.log_root, f"{NAME}-{name}-{tag}")
        config = make_config("default", dataset=source, epochs=epochs, seed=FLAGS.seed,
                             logdir=logdir, batch_size=batch, likelihood=likelihood, sigma=sigma)
        try:
            metrics = run_train(config, data=data, verbose=0)
        except TrainingDiverged as e:
            rows.append(Row(f"{name}, {label}", "test RMSE", None, note="diverged"))
            notes.append(f"{name}, {label}: {e}")
            continue
        note = f"{epochs} epochs, {metrics['train_seconds']:.0f} s"
        rows.append(Row(f"{name}, {label}", "test RMSE", metrics["reconstruction_rmse"],
                        note=note))
        rows.append(Row(f"{name}, {label}", "test MAE", metrics["reconstruction_mae"]))
        rows.append(Row(f"{name}, {label}", "test -ELBO (own likelihood)", metrics["test_loss"]))
        panels.append((name, label, logdir, data.image_shape))


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


def main(_):
    FLAGS.out_dir, FLAGS.log_root = output_dirs(FLAGS.out_dir, FLAGS.log_root, FLAGS.quick,
                                                "experiments")
    logging.set_verbosity(logging.INFO)
    rows, panels, notes = [], [], []
    for name in (["mnist"] if FLAGS.quick else FLAGS.datasets):
        logging.info("dataset %s", name)
        run_dataset(name, rows, panels, notes)
    figures = sample_sheets(panels, os.path.join(FLAGS.out_dir, NAME), FLAGS.seed)
    budget = ("quick: 2,000 / 500 images of mnist_5k, 2 epochs" if FLAGS.quick else
              f"{FLAGS.epochs} epochs (MNIST, OMNIGLOT), {FLAGS.face_epochs} (faces); default "
              "preset (MLP 400 hidden, latent 32, Adam 1e-3, batch 100)")
    notes += [
        "RMSE/MAE: test images vs the likelihood's mean at decoder(z_mean) (sigmoid(logits) "
        "for Bernoulli and Gaussian, the continuous Bernoulli's own mean for it).",
        "A Gaussian's loss is squared error, so it is favoured by an RMSE comparison; the "
        "samples figure shows what each likelihood draws from the prior.",
        "The -ELBO rows are in nats under each run's own likelihood: a Bernoulli mass and a "
        "density are not comparable, and densities on grey levels can be negative.",
    ]
    path = write_table(NAME, "Likelihoods for grey-level images", "nothing in the thesis "
                       "(which likelihood helps on which data set)", rows, budget,
                       FLAGS.seed, figures, notes, FLAGS.out_dir)
    print(path)


if __name__ == "__main__":
    app.run(main)
