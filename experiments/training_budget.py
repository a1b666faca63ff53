"""How many epochs the default preset trains each dataset for (the dataset registry's
`train_epochs`; README, "Default budgets"; not a thesis table).

An epoch is ceil(N / 100) optimizer steps, so a small dataset needs many more epochs for
the same number of steps. Protocol, on validation images only (the test split is never
read): every tenth training image of a dataset is held out as validation (so every
subject or letter is in both parts), the default preset trains on the rest, one run per
dataset resumed from budget to budget (300 epochs are the 100-epoch run trained on).
After each budget: the validation -ELBO, its KL term, the latent units in use, the
reconstruction RMSE, the steps and the seconds so far. The chosen budget is the one with
the lowest validation -ELBO among those within the dataset's time limit (the whole run,
on this machine); a dataset whose curve still falls at its largest budget says so.
Figures: validation images and their reconstructions after each budget, and prior draws at
the chosen budget.

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
flags.DEFINE_list("datasets", ["omniglot_en", "omniglot_gr", "orl_faces", "yale_faces"],
                  "Datasets to run (skipped when not found).")
flags.DEFINE_string("out_dir", None, "Where the table and figures go. (default "
                    "experiments/results; --quick: a temporary folder).")
flags.DEFINE_string("log_root", None, "Run folders (default logs/training_budget; --quick: in "
                    "the temporary folder).")
flags.DEFINE_integer("seed", 0, "Seed of every run.")
FLAGS = flags.FLAGS

NAME = "training_budget"
# Candidate budgets (epochs) and the time limit of a default run (seconds) per dataset.
# OMNIGLOT's limit is the two minutes its first command may take; the faces are larger
# images (ORL 10,304 pixels, Yale 32,256), so each step costs more and they get longer.
# mnist_5k, mnist, binarized_mnist and CIFAR-10 keep 30 epochs (at least 1,500 steps).
BUDGETS = {"omniglot_en": (100, 200, 300, 500, 1000), "omniglot_gr": (100, 200, 300, 500, 1000),
           "orl_faces": (100, 300, 500, 1000), "yale_faces": (30, 100, 200, 300, 400)}
LIMIT_SECONDS = {"omniglot_en": 120, "omniglot_gr": 120, "orl_faces": 300, "yale_faces": 900}
QUICK_BUDGETS, QUICK_LIMIT = (1, 3), 60
HOLD_OUT_EVERY = 10  # every tenth training image is validation


def validation_split(data):
    """(train part, validation part): every HOLD_OUT_EVERY-th training image held out."""
    import dataclasses

    import numpy as np
    held = np.arange(len(data.train)) % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1
    labels = data.train_labels
    # run_train evaluates on `test`: here that is the validation part.
    return dataclasses.replace(
        data, train=data.train[~held], test=data.train[held],
        train_labels=None if labels is None else labels[~held],
        test_labels=None if labels is None else labels[held])


def run_dataset(name: str, budgets, limit: float, out_dir: str):
    """Train `name` through `budgets` on its validation split; rows, figures, the choice."""
    import numpy as np

    from vae_tf import datasets, plots
    from vae_tf.config import make_config
    from vae_tf.models import load_model
    from vae_tf.evaluation import sample
    data_dir = data_dir_for(name, FLAGS.data_root) if name != "mnist_5k" else None
    if name != "mnist_5k" and data_dir is None:
        return [Row(name, "not run", None, note="no data here")], [], None
    data = validation_split(datasets.load(name, data_dir))
    logdir = os.path.join(FLAGS.log_root, name)
    steps_per_epoch = -(-len(data.train) // 100)
    shown, rows_img, labels, out, scores = data.test[:10], [data.test[:10]], [
        "validation\nimages"], [], {}
    z = np.random.default_rng(FLAGS.seed).standard_normal((20, 32)).astype(np.float32)
    draws = {}
    for epochs in budgets:
        config = make_config(dataset=name, data_dir=data_dir, epochs=epochs, seed=FLAGS.seed,
                             logdir=logdir)
        m = run_train(config, data)
        model = load_model(os.path.join(logdir, "model.keras"))
        rows_img.append(np.asarray(model.reconstruct(shown)))
        draws[epochs] = np.asarray(sample(model, z))
        labels.append(f"{epochs} epochs\n({epochs * steps_per_epoch:,} steps)")
        seconds = m["train_seconds"]
        scores[epochs] = (m["test_loss"], seconds)
        note = (f"{epochs * steps_per_epoch:,} steps, {seconds:.0f} s of training"
                + ("" if seconds <= limit else f", over the {limit:.0f} s limit"))
        group = f"{name}, {epochs} epochs"
        out += [Row(group, "validation -ELBO (nats)", m["test_loss"], note=note),
                Row(group, "validation KL (nats)", m["test_kl"],
                    note=f"{m['latent_units_in_use']} of {m['latent_units']} units in use"
                         + (f"; {m['collapse']}" if m["collapsed"] else "")),
                Row(group, "validation RMSE", m["reconstruction_rmse"])]
    fitting = {e: s for e, s in scores.items() if s[1] <= limit} or {budgets[0]: scores[budgets[0]]}
    chosen = min(fitting, key=lambda e: fitting[e][0])
    still_falling = chosen == budgets[-1]
    out.append(Row(f"{name}: chosen", "train_epochs", chosen,
                   note=f"lowest validation -ELBO within {limit:.0f} s"
                        + ("; still falling at the largest budget" if still_falling else "")))
    figures = [
        plots.image_rows(os.path.join(out_dir, NAME, f"{name}.png"), rows_img, labels,
                         data.image_shape, f"{name}: validation images and their "
                         "reconstructions after each budget (default preset)"),
        plots.image_grid(os.path.join(out_dir, NAME, f"{name}_samples.png"), draws[chosen],
                         data.image_shape, title=f"{name}: prior draws after {chosen} epochs "
                         "(the chosen budget)")]
    return out, figures, chosen


def run_train(config, data):
    from vae_tf.train_run import run_train as train
    return train(config, data, verbose=0)


def main(_):
    FLAGS.out_dir, FLAGS.log_root = output_dirs(FLAGS.out_dir, FLAGS.log_root, FLAGS.quick,
                                                "training_budget")
    names = ["mnist_5k"] if FLAGS.quick else FLAGS.datasets
    rows, figures, chosen = [], [], {}
    t0 = time.perf_counter()
    for name in names:
        budgets = QUICK_BUDGETS if FLAGS.quick else BUDGETS[name]
        limit = QUICK_LIMIT if FLAGS.quick else LIMIT_SECONDS[name]
        found, pictures, choice = run_dataset(name, budgets, limit, FLAGS.out_dir)
        rows += found
        figures += pictures
        if choice is not None:
            chosen[name] = choice
        print(f"{name}: chose {choice} epochs; done after {time.perf_counter() - t0:.0f} s",
              flush=True)
    write_table(NAME, "Training budget: the default preset's epochs per dataset, chosen on "
                "validation images", "no thesis table (README, 'Default budgets')", rows,
                budget="default preset; epochs per dataset as in the rows (one run per dataset "
                       "resumed from budget to budget); time limits per dataset "
                       f"{LIMIT_SECONDS}; {time.perf_counter() - t0:.0f} s in all",
                seed=FLAGS.seed, figures=figures, out_dir=FLAGS.out_dir,
                notes=[f"Validation: every {HOLD_OUT_EVERY}th training image, held out of "
                       "training; the test split is not read.",
                       "Batch 100: an epoch is ceil(N / 100) optimizer steps.",
                       f"Chosen (vae_tf/datasets/registry.py train_epochs): {chosen}."])


if __name__ == "__main__":
    app.run(main)
