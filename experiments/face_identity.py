"""Whether a face data set's default run gives back its person (README, "Default budgets";
not a thesis table).

Protocol, on validation images only (the test split is never read): every tenth training
image is held out as validation (common.validation_split, as in training_budget.py, so
every subject is in both parts). Each candidate setting trains on the rest, one run
resumed from budget to budget. After each budget: the validation identity accuracy of the
reconstructions (vae_tf/identity.py: a 1-nearest-neighbour classifier on normalised
pixels, fitted on the fit part's original images), beside the same classifier on the
validation originals (the ceiling) and on one average face (the floor); the validation
RMSE, KL and the steps and seconds so far. Figure: validation images and each
candidate's reconstructions.

    python experiments/face_identity.py --quick          # mnist_5k, 1 and 2 epochs
    python experiments/face_identity.py --data_root=$VAE_TF_DATA_DIR --dataset=yale_faces \
        --candidates=default,gaussian --budgets=60,200
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from absl import app, flags  # noqa: E402

from common import HOLD_OUT_EVERY, Row, output_dirs, validation_split, write_table  # noqa: E402
from vae_tf.datasets import data_dir_for  # noqa: E402

# Candidate settings of the default preset (flags a user would add); "registry" adds none,
# so it is the dataset's registry default, whatever that is; "bernoulli" is the preset's
# own (the MLP, latent 32, the thesis's Bernoulli).
CANDIDATES = {
    "registry": {},
    "bernoulli": dict(arch="mlp", likelihood="bernoulli", latent_dim=32),
    "latent64": dict(latent_dim=64),
    "latent128": dict(latent_dim=128),
    "gaussian": dict(likelihood="gaussian"),
    "gaussian_latent64": dict(likelihood="gaussian", latent_dim=64),
    "gaussian_latent128": dict(likelihood="gaussian", latent_dim=128),
    "cbernoulli": dict(likelihood="cbernoulli"),
    "lr3e-3": dict(learning_rate=3e-3),
    "conv": dict(arch="conv"),
}

flags.DEFINE_bool("quick", False, "mnist_5k, 1 and 2 epochs, written to a temporary folder.")
flags.DEFINE_string("data_root", os.environ.get("VAE_TF_DATA_DIR"),
                    "Folder laid out like shared/data (default: $VAE_TF_DATA_DIR).")
flags.DEFINE_string("dataset", "yale_faces", "A dataset with subject labels.")
flags.DEFINE_list("candidates", ["registry"], f"Settings to compare: {', '.join(CANDIDATES)}.")
flags.DEFINE_list("budgets", ["60", "200"], "Epochs after which each candidate is scored "
                  "(one run per candidate, resumed from budget to budget).")
flags.DEFINE_string("out_dir", None, "Where the table and figure go (default "
                    "experiments/results; --quick: a temporary folder).")
flags.DEFINE_string("log_root", None, "Run folders (default logs/face_identity; --quick: in "
                    "the temporary folder).")
flags.DEFINE_integer("seed", 0, "Seed of every run.")
FLAGS = flags.FLAGS

NAME = "face_identity"
N_SHOWN = 10


def score(model, data, shown):
    """(identity scores, RMSE, the shown images' reconstructions) on the validation part."""
    import numpy as np

    from vae_tf.evaluation import reconstruct
    from vae_tf.identity import identity_scores
    from vae_tf.metrics import rmse
    recon = reconstruct(model, data.test)
    ids = identity_scores(data.train, data.train_labels, data.test, recon, data.test_labels)
    return ids, rmse(data.test, recon), np.asarray(recon[shown])


def run_candidate(name, settings, data, data_dir, budgets, shown):
    """Rows and the shown reconstructions after each budget of one candidate."""
    from vae_tf.config import make_config
    from vae_tf.errors import TrainingDiverged
    from vae_tf.models import load_model
    from vae_tf.train_run import run_train
    logdir = os.path.join(FLAGS.log_root, FLAGS.dataset, name)
    steps_per_epoch = -(-len(data.train) // 100)
    rows, images, labels = [], [], []
    for epochs in budgets:
        config = make_config(dataset=data.name, data_dir=data_dir, epochs=epochs,
                             seed=FLAGS.seed, logdir=logdir, **settings)
        try:
            m = run_train(config, data, verbose=0)
        except TrainingDiverged as e:  # a candidate that cannot train is a result too
            rows.append(Row(f"{name}, {epochs} epochs", "diverged", None, note=str(e)))
            print(f"{name}, {epochs} epochs: diverged: {e}", flush=True)
            break
        ids, error, recon = score(load_model(os.path.join(logdir, "model.keras")), data, shown)
        group = f"{name}, {epochs} epochs"
        setting = ", ".join(f"{k}={getattr(config, k)}" for k in
                            ("arch", "latent_dim", "likelihood", "learning_rate"))
        rows += [Row(group, "identity accuracy, reconstructions", ids["reconstructions"],
                     note=f"ceiling (originals) {ids['originals']:.4f}, floor (average face) "
                          f"{ids['average_face']:.4f}; {setting}"),
                 Row(group, "validation RMSE", error,
                     note=f"{epochs * steps_per_epoch:,} steps, {m['train_seconds']:.0f} s of "
                          "training"),
                 Row(group, "validation KL (nats)", m["test_kl"],
                     note=f"{m['latent_units_in_use']} of {m['latent_units']} units in use"
                          + (f"; {m['collapse']}" if m["collapsed"] else ""))]
        images.append(recon)
        labels.append(f"{name}\n{epochs} epochs")
        print(f"{group}: identity {ids['reconstructions']:.3f} (ceiling {ids['originals']:.3f})"
              f", RMSE {error:.4f}, {m['train_seconds']:.0f} s", flush=True)
    return rows, images, labels


def main(_):
    import numpy as np

    from vae_tf import datasets, plots
    FLAGS.out_dir, FLAGS.log_root = output_dirs(FLAGS.out_dir, FLAGS.log_root, FLAGS.quick,
                                                NAME)
    if FLAGS.quick:
        FLAGS.dataset, FLAGS.budgets = "mnist_5k", ["1", "2"]
    unknown = [c for c in FLAGS.candidates if c not in CANDIDATES]
    if unknown:
        raise SystemExit(f"{NAME}: unknown --candidates {unknown}; choose from "
                         f"{', '.join(CANDIDATES)}")
    budgets = sorted(int(b) for b in FLAGS.budgets)
    data_dir = None if FLAGS.dataset == "mnist_5k" else data_dir_for(FLAGS.dataset,
                                                                     FLAGS.data_root)
    data = validation_split(datasets.load(FLAGS.dataset, data_dir))
    # the first image of each of up to N_SHOWN subjects, spread over the validation part
    firsts = np.unique(data.test_labels, return_index=True)[1]
    shown = np.sort(firsts[np.linspace(0, len(firsts) - 1, min(N_SHOWN, len(firsts))).astype(int)])
    rows, rows_img, labels = [], [data.test[shown]], ["validation\nimages"]
    t0 = time.perf_counter()
    for name in FLAGS.candidates:
        found, images, names = run_candidate(name, CANDIDATES[name], data, data_dir, budgets,
                                             shown)
        rows, rows_img, labels = rows + found, rows_img + images, labels + names
    figure = plots.image_rows(os.path.join(FLAGS.out_dir, NAME, f"{FLAGS.dataset}.png"),
                              rows_img, labels, data.image_shape,
                              f"{FLAGS.dataset}: validation images and their reconstructions")
    write_table(NAME, f"Face identity: is {FLAGS.dataset}'s reconstruction its person?",
                "no thesis table (README, 'Default budgets')", rows,
                budget=f"epochs {budgets} per candidate; {time.perf_counter() - t0:.0f} s in all",
                seed=FLAGS.seed, figures=[figure], out_dir=FLAGS.out_dir,
                notes=[f"Validation: every {HOLD_OUT_EVERY}th training image, held out of "
                       "training; the test split is not read.",
                       "Identity: 1-nearest-neighbour subject on normalised pixels "
                       "(vae_tf/identity.py), fitted on the fit part's original images."])


if __name__ == "__main__":
    app.run(main)
