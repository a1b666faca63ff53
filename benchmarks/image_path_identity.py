"""Images unchanged by the column models: MIWAE on [0, 1] images, this code against an older commit.

MIWAEImputer has column models for tables and keeps the thesis's Bernoulli code
path for data in [0, 1]. This script checks that the path does not move: in a fresh child
process per checkout (this one, and `--base` checked out with `git worktree` in a
temporary folder), the same small MIWAE fits (the MLP, and conv.py's convolutions on
28 x 28 images) train 2 epochs on 600 holed mnist_5k images (structured holes, seed 0),
then impute 100 of them (L = 50) and draw 3 multiple imputations of 20. The table gives a
SHA-256 of each output and the last training loss: equal hashes mean bit-identical
imputations, so any result on images (miwae_defaults.md's validation figure among them)
reproduces exactly with the new code.

    python benchmarks/image_path_identity.py --base=4a71761
    python benchmarks/image_path_identity.py --base=4a71761 --out_dir=   # print only
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RESULTS, ROOT, git_commit, now, portable_command  # noqa: E402

flags.DEFINE_string("base", "4a71761", "The commit before the column models.")
flags.DEFINE_string("out_dir", RESULTS, "Folder for image_path_identity.md; empty: print only.")
flags.DEFINE_string("child", None, "Internal: the checkout to import vae_tf from; prints JSON.")
FLAGS = flags.FLAGS


def child(path: str) -> None:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.path.insert(0, path)
    import vae_tf
    from vae_tf.datasets import load
    from vae_tf.missing import apply_mask, make_mask
    assert vae_tf.__file__.startswith(os.path.realpath(path)) or \
        vae_tf.__file__.startswith(path), vae_tf.__file__
    data = load("mnist_5k")
    x = data.train[:600]
    holed = apply_mask(x, make_mask(len(x), data.image_shape, "structured", 0))
    out = {}
    for label, kw in (("mlp", dict(arch="mlp")), ("conv", dict(image_shape=(28, 28)))):
        imputer = vae_tf.MIWAEImputer(epochs=2, impute_samples=50, seed=3, **kw).fit(holed)
        single = imputer.transform(holed[:100])
        multiple = imputer.multiple_imputation(holed[:20], m=3, seed=1)
        out[label] = {"transform": hashlib.sha256(single.tobytes()).hexdigest()[:16],
                      "multiple": hashlib.sha256(multiple.tobytes()).hexdigest()[:16],
                      "loss": imputer.history_[-1]["train/loss"]}
    print(json.dumps(out))


def run(path: str) -> dict:
    result = subprocess.run([sys.executable, os.path.abspath(__file__), f"--child={path}"],
                            capture_output=True, text=True, cwd=tempfile.gettempdir())
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv):
    del argv
    if FLAGS.child:
        child(FLAGS.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, "base")
        subprocess.run(["git", "worktree", "add", "--detach", "-q", base, FLAGS.base],
                       cwd=ROOT, check=True)
        try:
            old = run(base)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", base], cwd=ROOT)
    new = run(ROOT)
    lines = ["# MIWAE on images: this code against the commit before the column models", "",
             f"Command: `{portable_command()}`  ", f"Commit: {git_commit()} against "
             f"{FLAGS.base}; written {now()}; seed 3 (models), 0 (holes), 1 (draws)", "",
             "| model | output | base | this commit | identical |", "|---|---|---|---|---|"]
    same = True
    for label in ("mlp", "conv"):
        for key in ("transform", "multiple", "loss"):
            a, b = old[label][key], new[label][key]
            same &= a == b
            lines.append(f"| {label} | {key} | {a} | {b} | {'yes' if a == b else 'NO'} |")
    lines += ["", "Identical: " + ("every output, bit for bit." if same else "NO.")]
    text = "\n".join(lines) + "\n"
    print(text)
    if FLAGS.out_dir:
        with open(os.path.join(FLAGS.out_dir, "image_path_identity.md"), "w") as f:
            f.write(text)


if __name__ == "__main__":
    app.run(main)
