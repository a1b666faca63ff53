"""How many epochs each dataset needs before its figures look right (README, "How long to
train"; not a thesis table).

One run per dataset with the default preset, resumed from budget to budget (so 300 epochs
are the 100-epoch run trained on): after each budget, the test -ELBO, its KL term, the
reconstruction RMSE, the optimizer steps so far and the seconds, and a row of test-image
reconstructions in one figure per dataset (rows: the test images, then each budget).

    python experiments/training_budget.py --quick          # mnist_5k, 1 and 3 epochs
    python experiments/training_budget.py --data_root=$VAE_TF_DATA_DIR
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from common import Row, output_dirs, write_table  # noqa: E402
from vae_tf.datasets import data_dir_for  # noqa: E402

flags.DEFINE_bool("quick", False, "mnist_5k only, 1 and 3 epochs, written to --out_dir.")
flags.DEFINE_string("data_root", os.environ.get("VAE_TF_DATA_DIR"),
                    "Folder laid out like shared/data (default: $VAE_TF_DATA_DIR).")
flags.DEFINE_list("datasets", ["mnist_5k", "mnist", "omniglot_en", "omniglot_gr", "orl_faces",
                               "yale_faces"], "Datasets to run (skipped when not found).")
flags.DEFINE_string("out_dir", None, "Where the table and figures go. (default experiments/results; --quick: a temporary folder).")
flags.DEFINE_string("log_root", None, "Run folders (default logs/training_budget; --quick: in the temporary folder).")
flags.DEFINE_integer("seed", 0, "Seed of every run.")
FLAGS = flags.FLAGS

NAME = "training_budget"
# Epoch budgets per dataset: small sets take few steps per epoch, so they get more epochs.
BUDGETS = {"mnist_5k": (10, 30, 100), "mnist": (10, 30, 100), "omniglot_en": (30, 100, 300, 1000),
           "omniglot_gr": (30, 100, 300, 1000), "orl_faces": (30, 100, 300),
           "yale_faces": (30, 100)}


def run_dataset(name: str, budgets, out_dir: str):
    """Train `name` through `budgets`; the table rows and the figure's path."""
    import numpy as np

    from vae_tf import datasets, plots
    from vae_tf.config import make_config
    from vae_tf.models import load_model
    from vae_tf.run import run_train
    data_dir = data_dir_for(name, FLAGS.data_root) if name != "mnist_5k" else None
    if name != "mnist_5k" and data_dir is None:
        return [Row(name, "not run", None, note="no data here")], None
    data = datasets.load(name, data_dir)
    logdir = os.path.join(FLAGS.log_root, name)
    steps_per_epoch = -(-len(data.train) // 100)
    shown, rows_img, labels, out = data.test[:10], [data.test[:10]], ["test images"], []
    t0 = time.perf_counter()
    for epochs in budgets:
        config = make_config(dataset=name, data_dir=data_dir, epochs=epochs, seed=FLAGS.seed,
                             logdir=logdir)
        metrics = run_train(config, data, verbose=0)
        model = load_model(os.path.join(logdir, "model.keras"))
        rows_img.append(np.asarray(model.reconstruct(shown)))
        labels.append(f"{epochs} epochs\n({epochs * steps_per_epoch:,} steps)")
        note = f"{epochs * steps_per_epoch} steps, {time.perf_counter() - t0:.0f} s so far"
        out += [Row(f"{name}, {epochs} epochs", "test -ELBO (nats)", metrics["test_loss"],
                    note=note),
                Row(f"{name}, {epochs} epochs", "test KL (nats)", metrics["test_kl"]),
                Row(f"{name}, {epochs} epochs", "test RMSE", metrics["reconstruction_rmse"])]
    figure = plots.image_rows(os.path.join(out_dir, NAME, f"{name}.png"), rows_img, labels,
                              data.image_shape, f"{name}: test images and their reconstructions "
                              "after each budget (default preset)")
    return out, figure


def main(_):
    FLAGS.out_dir, FLAGS.log_root = output_dirs(FLAGS.out_dir, FLAGS.log_root, FLAGS.quick,
                                                "training_budget")
    out_dir = FLAGS.out_dir
    names = ["mnist_5k"] if FLAGS.quick else FLAGS.datasets
    rows, figures = [], []
    t0 = time.perf_counter()
    for name in names:
        found, figure = run_dataset(name, (1, 3) if FLAGS.quick else BUDGETS[name], out_dir)
        rows += found
        figures += [figure] if figure else []
        print(f"{name}: done after {time.perf_counter() - t0:.0f} s", flush=True)
    write_table(NAME, "Training budget: how many epochs before the figures look right",
                "no thesis table (README, 'How long to train')", rows,
                budget="default preset; epochs per dataset as in the rows (one run per "
                       f"dataset resumed from budget to budget); {time.perf_counter() - t0:.0f} s "
                       "in all", seed=FLAGS.seed, figures=figures, out_dir=out_dir,
                notes=["Batch 100: an epoch is ceil(N / 100) optimizer steps, so a small "
                       "dataset needs many more epochs for the same number of steps."])


if __name__ == "__main__":
    app.run(main)
