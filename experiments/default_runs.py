"""The gallery of default runs: what `python -m vae_tf.main --dataset=<name>` gives on each
dataset (README, "Default budgets"; not a thesis table).

Each dataset with data here is trained exactly as a new user would launch it: the
launcher in a fresh process, the default preset, the dataset's own budget (the registry's
`train_epochs`, chosen by training_budget.py on validation images). Recorded: the budget
in epochs and steps, the wall time of the whole command (start-up and figures included),
the test reconstruction RMSE, the test KL, the latent units in use and the collapse flag
(vae_tf/collapse.py), and on the face data sets whether the reconstructions are their
person (vae_tf/identity.py: 1-nearest-neighbour identity on the training images, beside
the test originals' ceiling and an average face's floor); the run's reconstructions and
prior draws are copied beside the table.
Each run reads its dataset's test split once (the figures it reports); a full run records
each read in the ledger (experiments/ledger.py), its headline the test RMSE.

    python experiments/default_runs.py --quick          # mnist_5k, 2 epochs
    python experiments/default_runs.py --data_root=$VAE_TF_DATA_DIR
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Optional

if not __package__:  # python experiments/default_runs.py: import the package
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import flags  # noqa: E402

from experiments import scaffold  # noqa: E402
from experiments.common import Row, kl_row  # noqa: E402
from vae_tf.datasets import DATA_DIR_VAR, ENTRIES  # noqa: E402

FACES = ("orl_faces", "yale_faces")  # subjects as labels: identity accuracy is reported


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(scaffold.Config):
    """default_runs' budget: which datasets, and the launcher's epochs."""

    datasets: tuple  # those without data here are listed as not run
    epochs: Optional[int]  # --epochs passed to the launcher (None: the registry's budget)


def get_config(quick: bool) -> Config:
    images = tuple(n for n, e in ENTRIES.items() if not e.ratings)
    return Config(table="default_runs", stage=scaffold.Stage("beyond", False, (29, 1)),
                  datasets=(scaffold.QUICK_DATASET,) if quick else images,
                  epochs=2 if quick else None)


def define_flags() -> None:
    flags.DEFINE_list("datasets", None, "Datasets to run (those without data here are listed "
                      "as not run).")


def split_of(name: str) -> str:
    """The ledger's name of the test split the default command on `name` scores."""
    from experiments.ledger import image_split
    return image_split(name)  # binarized_mnist: Larochelle's test file, a split of its own


def identity_row(run: scaffold.Run, name: str, group: str, logdir: str) -> Row:
    """The identity accuracy of the run's test reconstructions, with its ceiling and floor."""
    from vae_tf.evaluation import reconstruct
    from vae_tf.identity import identity_scores
    from vae_tf.models import load_model
    data = run.load(name)
    recon = reconstruct(load_model(os.path.join(logdir, "model.keras")), data.test)
    ids = identity_scores(data.train, data.train_labels, data.test, recon, data.test_labels)
    return Row(group, "identity accuracy of the test reconstructions", ids["reconstructions"],
               note=f"test originals {ids['originals']:.4f}, an average face "
                    f"{ids['average_face']:.4f} (1-NN on the training images)")


def launch(run: scaffold.Run, name: str, logdir: str):
    """Run the default command on `name` in a fresh process; (metrics, wall seconds)."""
    command = [sys.executable, "-m", "vae_tf.main", f"--dataset={name}", f"--logdir={logdir}"]
    epochs = run.config.epochs
    command += [] if epochs is None else [f"--epochs={epochs}"]
    env = dict(os.environ)
    if run.data_root:
        env[DATA_DIR_VAR] = run.data_root
    if os.path.exists(logdir):  # a fresh run, never a resumed one: the time is the whole run
        shutil.rmtree(logdir)
    t0 = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"default_runs: {' '.join(command[1:])} failed: "
                         f"{done.stderr.strip().splitlines()[-1:]}")
    with open(os.path.join(logdir, "metrics.json")) as f:
        return json.load(f), seconds


def main(run: scaffold.Run) -> None:
    rows, figures, reads = [], [], []
    t0 = time.perf_counter()
    for name in run.config.datasets:
        if name != scaffold.QUICK_DATASET and run.data_dir(name) is None:
            rows.append(Row(name, "not run", None, note="no data here"))
            continue
        logdir = os.path.join(run.log_root, name)
        m, seconds = launch(run, name, logdir)
        group = f"{name}, {m['epochs']} epochs"
        own = ", ".join(f"{k}={v}" for k, v in ENTRIES[name].train_settings.items())
        rows += [Row(group, "wall time of the command (s)", seconds,
                     note=f"{m['steps']:,} steps; {m['train_seconds']:.0f} s of training"),
                 Row(group, "test RMSE", m["reconstruction_rmse"],
                     note=own and f"{own} (the registry's train_settings)"),
                 kl_row(group, m)]
        setting = (f"the dataset's first command: default preset{f' ({own})' if own else ''}"
                   f", {m['epochs']} epochs")
        if name in FACES:
            rows.append(identity_row(run, name, group, logdir))
            setting += f"; identity accuracy of the reconstructions {rows[-1].ours:.4f}"
        reads.append((split_of(name), setting, "test RMSE", m["reconstruction_rmse"]))
        for kind in ("reconstructions", "samples"):
            target = run.figure(f"{name}_{kind}.png")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(os.path.join(logdir, "figures", f"{kind}.png"), target)
            figures.append(target)
        print(f"{name}: {seconds:.0f} s, test RMSE {m['reconstruction_rmse']:.4f}", flush=True)
    run.write_table("Default runs: each dataset's first command", "no thesis table (README, "
                    "'Default budgets')", rows,
                    budget="the default preset at each dataset's registry budget "
                           "(`python -m vae_tf.main --dataset=<name>`); "
                           f"{time.perf_counter() - t0:.0f} s in all", figures=figures,
                    notes=["Wall time: the whole command in a fresh process, TensorFlow's "
                           "start-up, loading, training, evaluation and figures included.",
                           "Each run read its dataset's test split once, for the figures here; "
                           "no choice was made on them (the budgets come from "
                           "training_budget.md, Yale's likelihood from face_identity.md, "
                           "both on validation images)."],
                    test_reads=reads)


if __name__ == "__main__":
    scaffold.start(get_config, main, define_flags, logs="default_runs", seed=False)
