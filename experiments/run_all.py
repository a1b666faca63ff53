"""Run every experiment script in turn (each writes its table to experiments/results/).

    python experiments/run_all.py --quick
    python experiments/run_all.py --data_root=../shared/data
"""

import os
import subprocess
import sys
import time

from absl import app, flags

flags.DEFINE_bool("quick", False, "Pass --quick to every script.")
flags.DEFINE_string("data_root", os.environ.get("VAE_TF_DATA_DIR"), "Folder like shared/data.")
flags.DEFINE_string("out_dir", None, "Results folder (default experiments/results).")
FLAGS = flags.FLAGS

SCRIPTS = ("vae_reconstruction.py", "mnist_imputation.py", "omniglot_imputation.py",
           "movielens.py", "miwae_vs_knn.py", "likelihoods.py")


def main(_):
    here = os.path.dirname(os.path.abspath(__file__))
    failed = []
    for script in SCRIPTS:
        args = [sys.executable, os.path.join(here, script)]
        args += ["--quick"] if FLAGS.quick else []
        args += [f"--data_root={FLAGS.data_root}"] if FLAGS.data_root else []
        args += [f"--out_dir={FLAGS.out_dir}"] if FLAGS.out_dir else []
        t0 = time.perf_counter()
        code = subprocess.call(args)
        print(f"{script}: exit {code} in {time.perf_counter() - t0:.0f} s", flush=True)
        if code:
            failed.append(script)
    if failed:
        sys.exit(f"run_all: failed: {', '.join(failed)}")


if __name__ == "__main__":
    app.run(main)
