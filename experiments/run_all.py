"""Regenerate every committed table and figure: each experiment script in turn.

    python experiments/run_all.py                 # the data root: $VAE_TF_DATA_DIR
    python experiments/run_all.py --quick         # every script's --quick, in a scratch folder
    python experiments/run_all.py --quick --keep  # ... and keep that folder to look at
    python experiments/run_all.py --only=movielens_nested,iwae_training

Every script runs with its committed budget and seed (its defaults; a table written by a
script with flags, such as miwae_vs_knn_conv, gets them from VARIANTS) and writes its table
(command, seed, budget, wall time, commit, cores) and figures to experiments/results/.
`--quick` gives every script its --quick flag and one scratch folder (hundreds of MB of run
folders), removed at the end unless `--keep` is given, when its path is printed: it never
writes into experiments/results/. Without a data root, --quick runs the scripts
that work on the bundled mnist_5k sample and names the others it skipped; a full run
needs the data root. A progress line per script gives its expected and actual time.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

from absl import app, flags

flags.DEFINE_bool("quick", False, "Every script's --quick, into a scratch folder.")
flags.DEFINE_string("data_root", os.environ.get("VAE_TF_DATA_DIR"),
                    "Folder laid out like ../shared/data (default $VAE_TF_DATA_DIR).")
flags.DEFINE_list("only", [], "Run only these scripts (names without .py).")
flags.DEFINE_bool("keep", False, "With --quick: keep the scratch folder (its path is printed) "
                  "instead of removing it at the end.")
FLAGS = flags.FLAGS

# (script, needs the data root even under --quick, expected minutes: full run, quick run)
SCRIPTS = (
    ("vae_reconstruction", False, 20, 1),
    ("training_budget", False, 35, 1),
    ("default_runs", False, 15, 1),
    ("latent_2d", False, 5, 1),
    ("likelihoods", False, 20, 1),
    ("mnist_imputation", False, 25, 2),
    ("omniglot_imputation", True, 10, 1),
    ("small_data_imputation", True, 60, 1),
    ("small_data_imputation_conv", True, 60, 1),
    ("miwae_vs_knn", False, 55, 2),
    ("miwae_vs_knn_conv", False, 100, 1),
    ("miwae_defaults", False, 58, 1),
    ("miwae_defaults_random", False, 58, 1),
    ("miwae_coverage", False, 36, 1),
    ("iwae_training", False, 100, 1),
    ("movielens", True, 10, 1),
    ("movielens_nested", True, 76, 1),
    ("fidelity", False, 10, 1),
    ("tabular_defaults", False, 72, 1),
    ("tabular_imputation", False, 180, 1),  # resumes its cells: may span sittings
)
# Tables written by another script with flags: name -> (script, its flags).
VARIANTS = {
    "miwae_vs_knn_conv": ("miwae_vs_knn", [
        "--table=miwae_vs_knn_conv", "--schemes=structured", "--vae_epochs=0",
        "--miwae_arch=conv", "--miwae_epochs=30", "--miwae_seeds=3"]),
    "miwae_defaults_random": ("miwae_defaults", [
        "--missing=random", "--table=miwae_defaults_random"]),
    "small_data_imputation_conv": ("small_data_imputation", [
        "--table=small_data_imputation_conv", "--datasets=omniglot_en,omniglot_gr",
        "--omniglot_configs=cx400x32x5", "--omniglot_epochs=5,10,15,20,30", "--miwae_seeds=3",
        "--pretrain_epochs=0", "--vae_epochs=0"]),
}


def main(_):
    here = os.path.dirname(os.path.abspath(__file__))
    unknown = sorted(set(FLAGS.only) - {s[0] for s in SCRIPTS})
    if unknown:
        sys.exit(f"run_all: --only={','.join(unknown)} is unknown; choose from "
                 f"{', '.join(s[0] for s in SCRIPTS)}")
    if not FLAGS.data_root and not FLAGS.quick:
        sys.exit("run_all: no data root: set VAE_TF_DATA_DIR (or --data_root) to a folder laid "
                 "out like ../shared/data, or pass --quick for the bundled sample only")
    if FLAGS.keep and not FLAGS.quick:
        sys.exit("run_all: --keep does not apply here (it keeps --quick's scratch folder; a "
                 "full run writes experiments/results/); drop it or add --quick")
    scratch = tempfile.mkdtemp(prefix="vae_tf_run_all_") if FLAGS.quick else None
    try:
        failed, skipped = run_scripts(here, scratch)
    finally:
        if scratch and FLAGS.keep:
            print(f"quick results kept in {scratch} (experiments/results/ untouched)")
        elif scratch:
            shutil.rmtree(scratch, ignore_errors=True)
            print(f"quick results removed with their scratch folder {scratch} (pass --keep "
                  "to keep it); experiments/results/ untouched")
    if skipped:
        print(f"skipped without a data root: {', '.join(skipped)}")
    if failed:
        sys.exit(f"run_all: failed: {', '.join(failed)}")


def run_scripts(here: str, scratch):
    """Run the chosen scripts in turn; (the failed, the skipped) names."""
    chosen = [s for s in SCRIPTS if not FLAGS.only or s[0] in FLAGS.only]
    failed, skipped = [], []
    for i, (name, needs_data, full_min, quick_min) in enumerate(chosen, 1):
        if needs_data and not FLAGS.data_root:
            skipped.append(name)
            print(f"[{i}/{len(chosen)}] {name}: skipped (needs the data root)", flush=True)
            continue
        script, flags_of = VARIANTS.get(name, (name, []))
        args = [sys.executable, os.path.join(here, f"{script}.py"), *flags_of]
        args += [f"--data_root={FLAGS.data_root}"] if FLAGS.data_root else []
        args += ["--quick", f"--out_dir={scratch}"] if FLAGS.quick else []
        print(f"[{i}/{len(chosen)}] {name}: about {quick_min if FLAGS.quick else full_min} min",
              flush=True)
        t0 = time.perf_counter()
        code = subprocess.call(args)
        print(f"[{i}/{len(chosen)}] {name}: exit {code} after "
              f"{(time.perf_counter() - t0) / 60:.1f} min", flush=True)
        if code:
            failed.append(name)
    return failed, skipped


if __name__ == "__main__":
    app.run(main)
