"""Training throughput before and after the one-engine redesign (issue 11), side by side.

Times each training path (the thesis MLP VAE, the thesis imputer, MIWAE with K=5, the
rating VAE) in the code BEFORE the redesign (commit a779b71) and AFTER it (this
repository), on the same synthetic data and settings, in one run. Each measurement runs
in a fresh subprocess with PYTHONPATH=<tree> and this interpreter, so each tree imports
its own `vae_tf` (the child checks where it came from); before and after alternate
(before, after, before, after, ...) so a drift in machine load hits both. Rows give the
median examples per second over the repeats and the after/before ratio. Asserts nothing.

Timed, compilation left out (a column gives the first epoch's time with it):
- VAE (784-400-32, default preset, Adam 1e-3, 10 steps per call, XLA): 2 epochs after a
  warm-up epoch. Before: `EpochLoop.run_epoch` over `make_multi_step`, as the old
  `run_train` drove it; after: `Engine.fit` on `ELBO`, as the new `run.py` does. Neither
  includes run_train's per-epoch evaluation, images and checkpoints.
- The imputers (images, 40 % of entries NaN; the rating VAE: 943 x 1682, ~6 % rated,
  examples = items): after a small warm-up fit (the process's one-time costs), fit with
  epochs=1 and with 1+E, E = 2 (thesis imputer 4, rating VAE 40: the old imputers' timed
  work must be seconds beside their ~0.2 s variation in compile time). After: the
  engine's own seconds of epochs 2..1+E (`history_`); before (no per-epoch time kept):
  the difference of the two fits. A difference fails for the engine: its XLA compile
  time varies by about a second, more than a rating VAE epoch.
--quick's figures only show the script runs: tiny epochs drown in compilation noise.

    git worktree add /tmp/vae_before a779b71        # once; outside the repository
    python benchmarks/engine_before_after.py --before=/tmp/vae_before --repeats=3
    python benchmarks/engine_before_after.py --before=/tmp/vae_before --quick  # smoke test

Writes benchmarks/results/engine_before_after.md (--quick: a temporary folder instead).
"""

import argparse
import datetime
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TREES = ("before", "after")
# model key -> (label, batch sizes, quick batch sizes, epochs timed)
MODELS = {"vae": ("VAE", (100, 1000), (20, 100), 2),
          "imputer": ("thesis imputer", (100, 1000), (20, 100), 4),
          "miwae": ("MIWAE K=5", (100, 1000), (20, 100), 2),
          "ratings": ("rating VAE", (64,), (64,), 40)}  # an epoch is ~0.1 s: time 40
SIZES = {False: dict(images=20000, users=943, items=1682),
         True: dict(images=400, users=60, items=120)}


# -- synthetic data (the same in both trees: made here, from fixed seeds) -----------------
def images(n: int) -> np.ndarray:
    """n 28x28 "images" [n, 784] in [0, 1]: smoothed noise, softly thresholded."""
    s = np.random.default_rng(0).standard_normal((n, 28, 28)).astype(np.float32)
    for _ in range(3):  # a small blur, both axes
        for axis in (1, 2):
            s = (np.roll(s, 1, axis) + s + np.roll(s, -1, axis)) / 3
    s /= s.std()
    return np.clip((s - 0.5) * 4 + 0.5, 0, 1).reshape(n, 784)  # mostly 0 or 1, grey edges


def with_holes(x: np.ndarray, share: float = 0.4) -> np.ndarray:
    """x with a random `share` of its entries set to NaN (fixed seed)."""
    return np.where(np.random.default_rng(1).random(x.shape) < share, np.nan, x)


def ratings(users: int, items: int) -> np.ndarray:
    """A [users, items] matrix with ~6 % of its cells rated 1..5, NaN elsewhere."""
    rng = np.random.default_rng(2)
    r = rng.integers(1, 6, (users, items)).astype(np.float32)
    return np.where(rng.random((users, items)) < 0.06, r, np.nan)


# -- the child: one measurement in one tree -----------------------------------------------
def time_vae(tree: str, x: np.ndarray, batch: int, epochs: int):
    """(seconds of `epochs` epochs of the VAE's training path, examples, warm-up seconds)."""
    import tensorflow as tf
    from vae_tf.config import make_config
    from vae_tf.run import build_model
    config = make_config("default", batch_size=batch)
    rate = lambda e: config.learning_rate * config.lr_decay ** e  # noqa: E731
    if tree == "before":
        from vae_tf.train import EpochLoop, make_multi_step
        vae, optimizer, rng = build_model(config, x.shape[1])
        loop = EpochLoop(make_multi_step(vae, optimizer, rng, config.jit_compile), x, batch,
                         config.seed, config.steps_per_call, 0,
                         dynamic_binarization=config.binarize)
        finished = [0]

        def fit(epochs):  # as Engine.fit: from the epochs done up to `epochs`
            for e in range(finished[0], epochs):
                optimizer.learning_rate.assign(rate(e))
                loop.run_epoch(e, int(optimizer.iterations.numpy()), lambda step, terms: None)
            finished[0] = epochs
    else:
        from vae_tf.engine import Engine
        from vae_tf.train import ELBO
        vae = build_model(config, x.shape[1])
        engine = Engine(ELBO(vae, tf.random.Generator.from_seed(config.seed), config.binarize),
                        [x], batch, config.learning_rate, seed=config.seed,
                        steps_per_call=config.steps_per_call, jit_compile=config.jit_compile,
                        verbose=0)
        fit = lambda epochs: engine.fit(epochs, learning_rate=rate)  # noqa: E731
    t0 = time.perf_counter()
    fit(1)  # warm-up: tracing, XLA compilation
    t1 = time.perf_counter()
    fit(1 + epochs)
    return time.perf_counter() - t1, epochs * len(x), t1 - t0


# model key -> (module before, module after, class, settings besides batch and epochs)
ESTIMATORS = {
    "imputer": ("vae_tf.vae_imputer", "vae_tf.imputers.vae", "VAEImputer",
                dict(latent_dim=32, hidden_dim=400, init_stddev=None)),
    "miwae": ("vae_tf.miwae", "vae_tf.imputers.miwae", "MIWAEImputer",
              dict(latent_dim=32, hidden_dim=400, train_samples=5)),
    "ratings": ("vae_tf.ratings", "vae_tf.imputers.ratings", "RatingVAE", dict(n_seeds=1))}


def make_estimator(tree: str, model: str, batch: int, epochs: int):
    before, after, name, settings = ESTIMATORS[model]
    cls = getattr(importlib.import_module(before if tree == "before" else after), name)
    return cls(batch_size=batch, epochs=epochs, **settings)


def time_fit(tree: str, model: str, data: np.ndarray, batch: int, epochs: int):
    """(seconds of `epochs` epochs after the first, examples, seconds of fit(epochs=1))."""
    rows = data.shape[1] if model == "ratings" else len(data)  # items, or images
    warm = data[:, :2 * batch] if model == "ratings" else data[:2 * batch]
    make_estimator(tree, model, batch, 1).fit(warm)  # the process's one-time costs
    seconds = []
    for n_epochs in (1, 1 + epochs):
        estimator = make_estimator(tree, model, batch, n_epochs)
        t0 = time.perf_counter()
        estimator.fit(data)
        seconds.append(time.perf_counter() - t0)
    history = estimator.history_
    if isinstance(history[0], dict) and "seconds" in history[0]:  # the engine's clock
        return sum(h["seconds"] for h in history[1:]), epochs * rows, seconds[0]
    return seconds[1] - seconds[0], epochs * rows, seconds[0]  # compilation cancels


def child(tree: str, model: str, batch: int, quick: bool) -> None:
    import tensorflow as tf
    import vae_tf
    root = os.path.realpath(os.environ["PYTHONPATH"]) + os.sep
    if not os.path.realpath(vae_tf.__file__).startswith(root):
        sys.exit(f"the {tree} child imported vae_tf from {vae_tf.__file__}, not from {root}")
    size, epochs = SIZES[quick], 2 if quick else MODELS[model][3]
    if model == "vae":
        seconds, examples, first = time_vae(tree, images(size["images"]), batch, epochs)
    else:
        data = (ratings(size["users"], size["items"]) if model == "ratings" else
                with_holes(images(size["images"])))
        seconds, examples, first = time_fit(tree, model, data, batch, epochs)
    print(json.dumps({"seconds": seconds, "examples": examples, "first": first,
                      "tf": tf.__version__}))


# -- the parent: alternate the trees, collect, write the table -----------------------------
def measure(tree_path: str, tree: str, model: str, batch: int, quick: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=tree_path, TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [sys.executable, os.path.abspath(__file__), f"--child={tree}:{model}:{batch}"]
    done = subprocess.run(cmd + (["--quick"] if quick else []), env=env, cwd=tree_path,
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{tree} {model} batch {batch} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def commit(path: str) -> str:
    git = ["git", "-C", path]
    head = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(git + ["status", "--porcelain", "--", "vae_tf"],
                           capture_output=True, text=True).stdout.strip()
    return head + (" + uncommitted changes to vae_tf/" if dirty else "")


def shown(path: str) -> str:
    """A path for the recorded command: relative to the repository inside it, else absolute."""
    rel = os.path.relpath(os.path.abspath(path), REPO)
    return os.path.abspath(path) if rel.startswith("..") else rel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="checkout of a779b71 (git worktree add ...)")
    parser.add_argument("--after", default=REPO, help="the redesigned tree (default: this repo)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats (median)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, 1 repeat, output to a temporary folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tree, model, batch = args.child.split(":")
        return child(tree, model, int(batch), args.quick)
    if not args.before or not os.path.isdir(os.path.join(args.before, "vae_tf")):
        sys.exit(f"--before={args.before}: not a checkout of vae_tf; create it with "
                 "`git worktree add /tmp/vae_before a779b71` and pass --before=/tmp/vae_before")
    paths = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    repeats = 1 if args.quick else args.repeats
    rows = [(m, b) for m, (_, sizes, quick, _) in MODELS.items()
            for b in (quick if args.quick else sizes)]
    runs = {(m, b, t): [] for m, b in rows for t in TREES}  # (examples/s, first epoch s)
    for r in range(repeats):
        for model, batch in rows:
            for tree in TREES:
                out = measure(paths[tree], tree, model, batch, args.quick)
                rate = out["examples"] / out["seconds"]
                runs[(model, batch, tree)].append((rate, out["first"]))
                print(f"repeat {r + 1}/{repeats}  {MODELS[model][0]:<15} batch {batch:>5}  "
                      f"{tree:<6} {rate:>8.0f} examples/s  ({out['examples']} in "
                      f"{out['seconds']:.2f} s; first epoch {out['first']:.1f} s)", flush=True)
    command = "python benchmarks/engine_before_after.py " + " ".join(
        [f"--before={shown(args.before)}"]
        + ([f"--after={shown(args.after)}"] if os.path.abspath(args.after) != REPO else [])
        + (["--quick"] if args.quick else [f"--repeats={repeats}"]))
    lines = ["# Training throughput before and after the one engine (issue 11)", "",
             f"- Command: `{command}`",
             f"- Before: {commit(args.before)}; after: {commit(args.after)}",
             f"- Cores (os.cpu_count()): {os.cpu_count()}; TensorFlow {out['tf']}; "
             f"date {datetime.datetime.now():%Y-%m-%d %H:%M}",
             f"- Medians of {repeats} repeat(s), before and after alternating. examples/s: "
             "epochs after the first (the rating VAE's examples are items); first epoch: "
             "its wall time with compilation (the imputers: all of fit(epochs=1)). How each "
             "is timed: the script's docstring.", "",
             "| model | batch | tree | examples/s (median) | after/before | each repeat "
             "| first epoch s (median) |", "|---|---:|---|---:|---:|---|---:|"]
    for model, batch in rows:
        medians = {t: statistics.median(v for v, _ in runs[(model, batch, t)]) for t in TREES}
        for tree in TREES:
            ratio = f"{medians['after'] / medians['before']:.2f}x" if tree == "after" else ""
            each = ", ".join(f"{v:.0f}" for v, _ in runs[(model, batch, tree)])
            first = statistics.median(f for _, f in runs[(model, batch, tree)])
            lines.append(f"| {MODELS[model][0]} | {batch} | {tree} | {medians[tree]:.0f} | "
                         f"{ratio} | {each} | {first:.1f} |")
    text = "\n".join(lines) + "\n"
    folder = (tempfile.mkdtemp(prefix="engine_before_after_") if args.quick
              else os.path.join(HERE, "results"))
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "engine_before_after.md")
    with open(path, "w") as f:
        f.write(text)
    print("\n" + text + f"\nwrote {path}")


if __name__ == "__main__":
    main()
