"""RatingVAE through the imputers' shared fit: do its MovieLens figures move? Validation only.

RatingVAE was one class holding its own seed loop (`n_seeds`, predictions from the mean of
the models' residuals, then clipped to [1, 5]); it is now one model trained by
`TrainedImputer.fit`, and `SeedEnsemble(RatingVAE(), n_seeds=3)` averages the members'
clipped predictions, as for every trained imputer. This script measures what that moved,
on validation ratings only: a seeded 5 % of u1.base's ratings held out
(experiments/movielens_tune.py's carve, seed `--seed`), every model fitted on the rest with
RatingVAE's defaults. No test file is read.

Rows: each member alone (seeds seed .. seed+2: the seed noise); the ensemble as it is now;
the same three members combined by the old rule (residuals averaged, then clipped); and,
with `--before=DIR` (a checkout of the commit before the change, e.g.
`git worktree add /tmp/rating_before e609c47`), that tree's `RatingVAE(n_seeds=3)` run in
a child process on the same split, with the largest difference of its predictions from the
old rule's on the new members (0 up to float noise when the shared fit trains the same
models).

    python benchmarks/rating_vae_shared_fit.py --before=/tmp/rating_before
    python benchmarks/rating_vae_shared_fit.py --quick     # 2 epochs, a temporary folder

Writes benchmarks/results/rating_vae_shared_fit.md (`--quick`: a temporary folder, never
benchmarks/results/) with the command, commit, date, seed, budget and wall time.
"""

import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (git_commit, machine, now, portable_command, results_folder,  # noqa: E402
                    write_results)

flags.DEFINE_string("data_root", None, "Data root holding movielens_100k/ (default: "
                    "$VAE_TF_DATA_DIR).")
flags.DEFINE_string("before", None, "A checkout of the commit before the change: its "
                    "RatingVAE(n_seeds=3) is run on the same split in a child process.")
flags.DEFINE_integer("seed", 0, "Seed of the carve and the first member.")
flags.DEFINE_float("fraction", 0.05, "Share of u1.base's ratings held out as validation.")
flags.DEFINE_bool("quick", False, "2 epochs per model, written to a temporary folder.")
flags.DEFINE_string("out_dir", None, "Folder for the table (default benchmarks/results; "
                    "--quick: a new temporary folder).")
FLAGS = flags.FLAGS

# The carve of movielens_tune.py (copied into the child, which runs the old tree).
CARVE = '''
def carve(train, fraction, seed):
    users, items = np.nonzero(~np.isnan(train))
    held = np.random.default_rng(seed).random(len(users)) < fraction
    fit, val = train.copy(), np.full_like(train, np.nan)
    fit[users[held], items[held]] = np.nan
    val[users[held], items[held]] = train[users[held], items[held]]
    return fit, val
'''
exec(CARVE)  # defines carve() here too: one text for both trees


def val_rmse(pred: np.ndarray, val: np.ndarray) -> float:
    rated = ~np.isnan(val)
    return float(np.sqrt(np.mean((pred[rated] - val[rated]) ** 2)))


def split(movielens_dir: str):
    from vae_tf.datasets.movielens import load_movielens_fold
    train = load_movielens_fold(movielens_dir, 1).train.astype(np.float64)
    return carve(train, FLAGS.fraction, FLAGS.seed)  # noqa: F821 (exec above)


def before_tree(movielens_dir: str, epochs: int, out: str) -> float:
    """The old tree's RatingVAE(n_seeds=3) on the same split: its validation RMSE; its
    predictions saved to `out` (.npy)."""
    code = textwrap.dedent(f"""
        import numpy as np
        {CARVE.strip().replace(chr(10), chr(10) + '        ')}
        from vae_tf.datasets.movielens import load_movielens_fold
        from vae_tf.imputers.ratings import RatingVAE
        train = load_movielens_fold({movielens_dir!r}, 1).train.astype(np.float64)
        fit, val = carve(train, {FLAGS.fraction!r}, {FLAGS.seed!r})
        pred = RatingVAE(n_seeds=3, epochs={epochs}, seed={FLAGS.seed}).fit(fit).predict()
        np.save({out!r}, pred)
    """)
    env = dict(os.environ, PYTHONPATH=os.path.abspath(FLAGS.before),
               TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run([sys.executable, "-c", code], check=True, env=env,
                   cwd=os.path.abspath(FLAGS.before))
    return out


def main(_):
    t0 = time.perf_counter()
    folder = results_folder("rating_vae_shared_fit", FLAGS.quick, FLAGS.out_dir)
    root = FLAGS.data_root or os.environ.get("VAE_TF_DATA_DIR")
    if not root:
        sys.exit("rating_vae_shared_fit: pass --data_root or set VAE_TF_DATA_DIR")
    movielens_dir = os.path.join(root, "movielens_100k")
    from vae_tf.imputers.ratings import RatingVAE, rating_ensemble
    epochs = 2 if FLAGS.quick else RatingVAE().epochs
    fit, val = split(movielens_dir)
    ensemble = rating_ensemble(3, epochs=epochs, seed=FLAGS.seed).fit(fit)
    rows = []
    for k, member in enumerate(ensemble.imputers_):
        rows.append((f"member seed {FLAGS.seed + k} alone", val_rmse(member.predict(), val)))
    now_pred = ensemble.transform(fit)
    rows.append(("SeedEnsemble(RatingVAE(), 3): mean of clipped predictions (now)",
                 val_rmse(now_pred, val)))
    unclipped = [m.predict(clip=False) for m in ensemble.imputers_]
    old_rule = np.clip(np.mean(unclipped, axis=0), 1.0, 5.0)
    rows.append(("the same members, residuals averaged then clipped (the old rule)",
                 val_rmse(old_rule, val)))
    notes = []
    if FLAGS.before:
        path = before_tree(movielens_dir, epochs, os.path.join(tempfile.mkdtemp(), "p.npy"))
        before = np.load(path)
        rows.append((f"RatingVAE(n_seeds=3) of the tree before ({FLAGS.before})",
                     val_rmse(before, val)))
        notes.append(f"Largest |before - old rule on the new members| over all cells: "
                     f"{float(np.max(np.abs(before - old_rule))):.2e}.")
    singles = [r[1] for r in rows[:3]]
    notes.append(f"Seed noise: the members' validation RMSE spread (sd) "
                 f"{float(np.std(singles, ddof=1)):.4f}; now - old rule: "
                 f"{rows[3][1] - rows[4][1]:+.5f}.")
    wall = time.perf_counter() - t0
    lines = ["# RatingVAE through the shared fit: MovieLens validation RMSE before and after",
             "", f"- command: `{portable_command()}`", f"- commit: {git_commit()}",
             f"- date: {now()}; wall time {wall:.0f} s; seed {FLAGS.seed}",
             f"- machine: {machine()}",
             f"- budget: u1.base with {FLAGS.fraction:.0%} of its ratings held out as "
             f"validation (seed {FLAGS.seed}); RatingVAE's defaults, {epochs} epochs per "
             "model, 3 seeds; no test file read", "",
             "| predictions | validation RMSE |", "|---|---:|"]
    lines += [f"| {name} | {value:.4f} |" for name, value in rows]
    lines += [""] + [f"- {n}" for n in notes]
    text = "\n".join(lines) + "\n"
    print(text)
    write_results(folder, "rating_vae_shared_fit", text)


if __name__ == "__main__":
    app.run(main)
