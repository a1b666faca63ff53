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
    python experiments/face_identity.py --data_root=$VAE_TF_DATA_DIR
    python experiments/face_identity.py --candidates=latent64,conv --table=face_identity_more
"""

import dataclasses
import os
import sys
import time

if not __package__:  # python experiments/face_identity.py: import the package, not its files
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import flags  # noqa: E402

from experiments import scaffold  # noqa: E402
from experiments.common import HOLD_OUT_EVERY, Row, kl_row, validation_split  # noqa: E402
from vae_tf.datasets import ENTRIES  # noqa: E402

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
N_SHOWN = 10


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(scaffold.Config):
    """face_identity's candidates: the dataset, the settings compared, the budgets."""

    dataset: str  # a dataset whose labels are its subjects (--quick: mnist_5k's digits)
    candidates: tuple  # names of CANDIDATES, one run each
    budgets: tuple  # epochs after which each run is scored (one run resumed through them)


def get_config(quick: bool) -> Config:
    # The full run compares the two likelihoods behind the registry's choice for Yale (the
    # preset's Bernoulli, the Gaussian it trains with) through its budget of 200 epochs:
    # about 13 min of training each on 2 quiet cores (training_budget.md: 757 s for 200
    # Yale epochs). All ten candidates would take over two hours; name the others with
    # --candidates (and --table, to keep this table).
    return Config(table="face_identity", stage=scaffold.Stage("beyond", False, (113, 1.5)),
                  dataset="mnist_5k" if quick else "yale_faces",
                  candidates=("bernoulli", "gaussian"),
                  budgets=(1, 2) if quick else (30, 100, 200))


def define_flags() -> None:
    images = [n for n, e in ENTRIES.items() if not e.ratings]
    flags.DEFINE_enum("dataset", None, images, "A dataset whose labels are its subjects "
                      "(orl_faces, yale_faces; another's labels are its classes).")
    scaffold.define_subset("candidates", tuple(CANDIDATES), "Settings to compare, one run "
                           "each: " + ", ".join(CANDIDATES) + ".")
    scaffold.define_ints("budgets", "Epochs after which each candidate is scored (one run "
                         "per candidate, resumed from budget to budget).", ascending=True)


def score(model, data, shown):
    """(identity scores, RMSE, the shown images' reconstructions) on the validation part."""
    import numpy as np

    from vae_tf.evaluation import reconstruct
    from vae_tf.identity import identity_scores
    from vae_tf.metrics import rmse
    recon = reconstruct(model, data.test)
    ids = identity_scores(data.train, data.train_labels, data.test, recon, data.test_labels)
    return ids, rmse(data.test, recon), np.asarray(recon[shown])


def run_candidate(run: scaffold.Run, name: str, data, shown):
    """Rows and the shown reconstructions after each budget of one candidate."""
    from vae_tf.config import make_config
    from vae_tf.errors import TrainingDiverged
    from vae_tf.models import load_model
    from vae_tf.train_run import run_train
    c = run.config
    logdir = os.path.join(run.log_root, c.dataset, name)
    steps_per_epoch = -(-len(data.train) // 100)
    rows, images, labels = [], [], []
    for epochs in c.budgets:
        config = make_config(dataset=c.dataset, data_dir=run.data_dir(c.dataset),
                             epochs=epochs, seed=c.seed, logdir=logdir, **CANDIDATES[name])
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
                 kl_row(group, m, "validation KL (nats)")]
        images.append(recon)
        labels.append(f"{name}\n{epochs} epochs")
        print(f"{group}: identity {ids['reconstructions']:.3f} (ceiling {ids['originals']:.3f})"
              f", RMSE {error:.4f}, {m['train_seconds']:.0f} s", flush=True)
    return rows, images, labels


def main(run: scaffold.Run) -> None:
    import numpy as np

    from vae_tf import plots
    from vae_tf.errors import UserError
    c = run.config
    try:
        data = run.load(c.dataset)
    except UserError as e:
        raise SystemExit(f"{run.script}: {e}") from None
    if data.train_labels is None:
        raise SystemExit(f"{run.script}: --dataset={c.dataset} has no labels to tell its "
                         "subjects apart; choose orl_faces or yale_faces")
    data = validation_split(data)  # from here on, `test` is the validation part
    # the first image of each of up to N_SHOWN subjects, spread over the validation part
    firsts = np.unique(data.test_labels, return_index=True)[1]
    spread = np.linspace(0, len(firsts) - 1, min(N_SHOWN, len(firsts))).astype(int)
    shown = np.sort(firsts[spread])
    rows, rows_img, labels = [], [data.test[shown]], ["validation\nimages"]
    t0 = time.perf_counter()
    for name in c.candidates:
        found, images, names = run_candidate(run, name, data, shown)
        rows, rows_img, labels = rows + found, rows_img + images, labels + names
    figure = plots.image_rows(run.figure(f"{c.dataset}.png"), rows_img, labels,
                              data.image_shape,
                              f"{c.dataset}: validation images and their reconstructions")
    print(run.write_table(
        f"Face identity: is {c.dataset}'s reconstruction its person?",
        "no thesis table (README, 'Default budgets')", rows,
        budget=f"default preset, epochs {list(c.budgets)} per candidate (one run resumed "
               f"from budget to budget); {time.perf_counter() - t0:.0f} s in all",
        figures=[figure],
        notes=[f"Validation: every {HOLD_OUT_EVERY}th training image, held out of "
               "training; the test split is not read.",
               "Identity: 1-nearest-neighbour subject on normalised pixels "
               "(vae_tf/identity.py), fitted on the fit part's original images.",
               *candidates_note(c)]))


def candidates_note(c: Config) -> list:
    """What the run compared, when not every candidate, and the registry's setting."""
    notes = []
    others = [n for n in CANDIDATES if n not in c.candidates]
    if others:
        notes.append(f"Candidates: {', '.join(c.candidates)}, of the script's "
                     f"{len(CANDIDATES)}: the others ({', '.join(others)}) run when named with "
                     "--candidates (all of them would take hours).")
    own = ENTRIES[c.dataset].train_settings
    notes.append(f"The registry's default preset trains {c.dataset} with "
                 + (", ".join(f"{k}={v}" for k, v in own.items()) if own else
                    "the preset's own settings") + " (vae_tf/datasets/registry.py).")
    return notes


if __name__ == "__main__":
    scaffold.start(get_config, main, define_flags, logs="face_identity")
