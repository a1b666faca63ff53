"""Test NLL on dynamically binarized MNIST: the VAE (ELBO) against the IWAE bound as the
training objective (Burda et al. 2015, "Importance Weighted Autoencoders", Table 1, one
stochastic layer; no thesis table).

For each K of `--samples`, an MLP VAE is trained through the library (`run_train` with
`--train_samples=K`, `--binarize`). Its training budget is chosen on validation images
first, and the test set is read once, by the chosen model:

1. Validation: one model per candidate budget of `--budgets` (epochs; each its own run,
   since the learning rate decays over the whole budget, so a short budget is no prefix of
   a long one), trained on the MNIST training file's first 50,000 images and scored by the
   NLL of its last 10,000, which it never trains on (importance sampling with the test
   NLL's k=5000 draws: the rule's tolerance then compares the estimate the test reports).
2. The rule, fixed before any result was seen: the smallest budget whose validation NLL is
   within `--tolerance` (0.1 nats) of the best candidate's. More epochs always help a
   little, so the lowest NLL alone would pick the longest budget every time.
3. Test: the chosen budget (in epochs) trained on all 60,000 training images, then its
   test -log p(x) by importance sampling with k=5000 draws, its test KL, latent units in
   use and collapse flag (vae_tf/collapse.py); experiments/results/iwae_training.md.

    python experiments/iwae_training.py --quick        # under a minute, offline, a scratch folder
    VAE_TF_DATA_DIR=/work/shared/data python experiments/iwae_training.py

Default settings (why): the paper's layer sizes (two hidden layers of 200, latent 50; ReLU,
the library's only activation, instead of tanh), so the reference column compares the same
model size; MNIST's 55,000 train + 5,000 validation images as the paper's 60,000; batch 100
(20 in the paper: five times the steps per image, but the CPU runs small batches far below
its speed); Adam from 1e-3 decayed per epoch to 1e-4, the paper's first and last rates,
spread over each budget's epochs instead of its 3,280 passes. The candidates 700, 1,100 and
1,600 epochs: earlier versions trained 700 epochs, read the test NLL (86.15, 3f6cbe0), short
of the 86.0 aimed at, and raised the budget to 1,600 (85.62): a budget chosen on the test
set. This version chooses among the same budgets and one between them on validation images.
The whole run trains 3,400 candidate epochs on 50,000 images and at most 1,600 on 60,000:
about 5.3 hours on the machine of the 1,600-epoch run (the script prints its estimate first).
"""

import dataclasses
import math
import os
import sys
import time
from typing import Mapping, Optional

if not __package__:  # python experiments/iwae_training.py: import the package, not its files
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import flags  # noqa: E402

from experiments import scaffold  # noqa: E402
from experiments.common import Row, kl_explained, kl_row  # noqa: E402


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(scaffold.Config):
    """iwae_training's models, candidate budgets and rule (the module docstring says why)."""

    samples: tuple  # training draws K, one model each (1: the VAE); its budget chosen per K
    budgets: tuple  # candidate epochs, ascending; one model each, scored on validation
    tolerance: float  # the rule: the smallest budget within this many nats of the best NLL
    hidden_layers: int  # of the encoder and of the decoder
    hidden_dim: int
    latent_dim: int
    batch_size: int
    learning_rate: float  # Adam's rate in the first epoch
    final_learning_rate: float  # Adam's rate in the last (decayed geometrically per epoch)
    nll_samples: int  # importance draws of the validation and of the test NLL estimates
    n_fit: int  # the candidates' training images: the first N of the training images
    n_valid: int  # validation images: the last N of the training images, after n_fit's
    n_train: Optional[int]  # the chosen model's first training images (None: all 60,000)
    n_test: Optional[int]  # first test images used (None: all)


def get_config(quick: bool) -> Config:
    # Expected minutes, on the machine of the committed 1,600-epoch run (6,562 s wall beside
    # a niced job: 100.5 min of training, 3.77 s per epoch on 60,000 images, of which ~0.5 s
    # the epoch's evaluation; 8.8 min the rest, mostly the k=5000 NLL of 10,000 images).
    # Candidates: 3,400 epochs at 0.5 + 3.27 * 50/60 s = 183 min, and three NLLs of 10,000
    # validation images, 26 min; the chosen model at most the 1,600 epochs' 110 min: 319,
    # rounded up to 320 (this machine is about 2.5x faster: about 2.1 hours).
    return Config(table="iwae_training", stage=scaffold.Stage("beyond", False, (320, 1)),
                  samples=(5,), budgets=(1, 2) if quick else (700, 1100, 1600),
                  tolerance=0.1, hidden_layers=2, hidden_dim=200, latent_dim=50,
                  batch_size=100, learning_rate=1e-3, final_learning_rate=1e-4,
                  nll_samples=100 if quick else 5000, n_fit=500 if quick else 50000,
                  n_valid=500 if quick else 10000, n_train=2000 if quick else None,
                  n_test=200 if quick else None)


def define_flags() -> None:
    scaffold.define_ints("samples", "Training draws K, one model each (1: the VAE; the "
                         "committed table: 5 only).")
    scaffold.define_ints("budgets", "Candidate epochs, ascending: one model each, trained on "
                         "the first 50,000 training images and scored on the last 10,000.",
                         ascending=True)
    flags.DEFINE_float("tolerance", None, "The rule: the smallest budget whose validation NLL "
                       "is within this many nats of the best candidate's.", lower_bound=0.0)
    flags.DEFINE_integer("hidden_layers", None, "Hidden layers of the encoder and of the "
                         "decoder.", lower_bound=1)
    flags.DEFINE_integer("hidden_dim", None, "Units per hidden layer.", lower_bound=1)
    flags.DEFINE_integer("latent_dim", None, "Latent dimensions.", lower_bound=1)
    flags.DEFINE_integer("batch_size", None, "Batch size.", lower_bound=1)
    flags.DEFINE_float("learning_rate", None, "Adam's rate in the first epoch.")
    flags.DEFINE_float("final_learning_rate", None, "Adam's rate in the last epoch (decayed "
                       "geometrically per epoch).")
    flags.DEFINE_integer("nll_samples", None, "Importance draws of the validation and test "
                         "NLL estimates.", lower_bound=1)


# Burda et al. 2015, Table 1, MNIST, one stochastic layer, test NLL (k=5000) of a model
# trained with the IWAE objective with K draws (K=1: the VAE).
REFERENCE = {1: 86.76, 5: 85.54, 50: 84.78}
# Speed on a quiet 2-core CPU: the engine's 784-400-64 VAE at 40,000 img/s (batch 100, the
# benchmarks), and the ratios of CPU time per image measured here for this
# model at K=1 (1.32x faster) and K=5 (0.61x) and for the NLL's draws (39 test images/s).
TRAIN_RATE = 125e9  # multiply-adds per second of a train step (forward + backward = 3x)
STEP_OVERHEAD = 0.8e-3  # seconds per step besides the multiply-adds
EPOCH_OVERHEAD = 0.5  # seconds per epoch: test -ELBO, image summaries, checkpoint
EVAL_RATE = 45e9  # multiply-adds per second of the NLL's decoder passes (likelihood included)


def _macs(dims, hidden_layers):
    """Multiply-adds of the encoder and of the decoder for one image (input, hidden, latent)."""
    d, h, z = dims
    inner = (hidden_layers - 1) * h * h
    return d * h + inner + 2 * h * z, z * h + inner + h * d + 30 * d  # + the likelihood's ops


def expected_seconds(k, epochs, n_train, n_test, nll_samples, dims, hidden_layers, batch):
    """(training, NLL) seconds of one model on a quiet 2-core CPU (the rates above)."""
    encoder, decoder = _macs(dims, hidden_layers)
    per_image = 3 * (encoder + k * decoder) / TRAIN_RATE + STEP_OVERHEAD / batch
    train = epochs * (n_train * per_image + EPOCH_OVERHEAD)
    return train, n_test * (encoder + nll_samples * decoder) / EVAL_RATE


def choose(scores: Mapping[int, float], tolerance: float) -> int:
    """The rule: the smallest budget (epochs -> validation NLL) within `tolerance` nats of
    the best candidate's; a candidate whose NLL is not finite (diverged) is never chosen."""
    finite = {epochs: nll for epochs, nll in scores.items() if math.isfinite(nll)}
    if not finite:
        raise SystemExit("iwae_training: no candidate budget has a finite validation NLL "
                         "(every model diverged); pass a lower --learning_rate")
    best = min(finite.values())
    return min(epochs for epochs, nll in finite.items() if nll <= best + tolerance)


def load_data(run: scaffold.Run):
    """(dataset name, data dir, candidates' Dataset, chosen model's Dataset). The candidates'
    `test` holds the validation images (run_train scores `test`): the last n_valid training
    images, after the first n_fit they train on. MNIST: its 60,000 training images in the
    training file's order (the loader's 55,000 train, then its 5,000 validation)."""
    import numpy as np
    c = run.config
    name = run.dataset("mnist")
    data_dir = None if run.quick else run.require(name)
    data = run.load(name)
    if data.validation is not None:  # the paper trains on all 60,000
        data = dataclasses.replace(data, train=np.concatenate([data.train, data.validation]),
                                   validation=None, validation_labels=None)
    data = dataclasses.replace(data, train_labels=None, test_labels=None)
    n = len(data.train)
    if c.n_fit + c.n_valid > n:
        raise SystemExit(f"iwae_training: the config's n_fit={c.n_fit} and n_valid={c.n_valid} "
                         f"overlap in {name}'s {n:,} training images; make their sum at most {n}")
    fit = dataclasses.replace(data, train=data.train[:c.n_fit], test=data.train[n - c.n_valid:])
    return name, data_dir, fit, scaffold.first(data, c.n_train, c.n_test)


def run_one(run: scaffold.Run, k, epochs, name, data_dir, data, folder):
    """Train the model of K draws for `epochs` on data.train and estimate its NLL on
    data.test (resuming the run folder `folder`); (metrics, wall seconds)."""
    from vae_tf.config import make_config
    from vae_tf.train_run import run_train
    c = run.config
    decay = (c.final_learning_rate / c.learning_rate) ** (1 / max(epochs - 1, 1))
    config = make_config(dataset=name, data_dir=data_dir, epochs=epochs, seed=c.seed,
                         batch_size=c.batch_size, latent_dim=c.latent_dim,
                         hidden_dim=c.hidden_dim, hidden_layers=c.hidden_layers,
                         learning_rate=c.learning_rate, lr_decay=min(decay, 1.0),
                         binarize=True, train_samples=k, iwae_samples=c.nll_samples,
                         logdir=os.path.join(run.log_root, folder))
    t0 = time.perf_counter()
    metrics = run_train(config, data=data, verbose=0 if run.quick else 2)
    return metrics, time.perf_counter() - t0


def wall_note(metrics, wall) -> str:
    return (f"{wall / 60:.1f} min wall ({metrics['train_seconds']:.0f} s of training, "
            f"{metrics['train_images_per_second']:,.0f} img/s)")


def validate(run: scaffold.Run, k, name, data_dir, fit):
    """Train and score each candidate budget of K draws on validation; (rows, chosen)."""
    c, objective = run.config, "VAE (ELBO)" if k == 1 else "IWAE"
    rows, scores = [], {}
    for epochs in c.budgets:
        metrics, wall = run_one(run, k, epochs, name, data_dir, fit,
                                f"{name}-K{k}-{epochs}ep-valid")
        scores[epochs] = metrics["test_iwae_nll"]  # the validation images: fit's `test`
        rows.append(Row(f"{objective}, K={k}, {epochs} epochs, validation",
                        f"validation NLL, k={c.nll_samples} (nats)", scores[epochs],
                        note=wall_note(metrics, wall)))
        print(f"K={k}, {epochs} epochs: validation NLL {scores[epochs]:.2f}, "
              f"{wall / 60:.1f} min", flush=True)
    chosen = choose(scores, c.tolerance)
    best = min(scores, key=lambda e: scores[e] if math.isfinite(scores[e]) else math.inf)
    rows.append(Row(f"{objective}, K={k}: chosen budget", "epochs", chosen,
                    note=f"the smallest budget whose validation NLL is within {c.tolerance:g} "
                         f"nats of the best ({scores[best]:.2f}, {best} epochs)"))
    return rows, chosen


def main(run: scaffold.Run) -> None:
    from experiments.ledger import headline, image_split
    c = run.config
    ks = sorted(set(c.samples))
    name, data_dir, fit, data = load_data(run)
    split = image_split(name, binarized=True)  # the test set binarized once (--binarize)
    dims, longest = (data.dim, c.hidden_dim, c.latent_dim), max(c.budgets)
    plan = {k: ([expected_seconds(k, b, len(fit.train), len(fit.test), c.nll_samples, dims,
                                  c.hidden_layers, c.batch_size) for b in c.budgets],
                expected_seconds(k, longest, len(data.train), len(data.test), c.nll_samples,
                                 dims, c.hidden_layers, c.batch_size)) for k in ks}
    total = sum(sum(map(sum, valid)) + sum(final) for valid, final in plan.values())
    print(f"{name}: candidates {len(fit.train):,} train / {len(fit.test):,} validation images, "
          f"the chosen model {len(data.train):,} train / {len(data.test):,} test; expected "
          f"on a quiet 2-core CPU: at most {total / 60:.1f} min (" + ", ".join(
              f"K={k}: validation {sum(map(sum, valid)) / 60:.1f} min, the chosen model at "
              f"most {final[0] / 60:.1f} min training + {final[1] / 60:.1f} min NLL"
              for k, (valid, final) in plan.items()) + "); up to 1.4x that on a busy one",
          flush=True)
    rows, summary, t_all, scored, chosen = [], [], time.perf_counter(), [], {}
    for k in ks:
        found, epochs = validate(run, k, name, data_dir, fit)
        rows += found
        chosen[k] = epochs
        metrics, wall = run_one(run, k, epochs, name, data_dir, data, f"{name}-K{k}-{epochs}ep")
        objective = "VAE (ELBO)" if k == 1 else "IWAE"
        label = f"{objective}, K={k}, {epochs} epochs"
        nll, elbo = metrics["test_iwae_nll"], metrics["test_loss"]
        rows += [Row(label, f"test NLL, k={c.nll_samples} (nats)", nll, REFERENCE.get(k),
                     wall_note(metrics, wall)),
                 Row(label, "test -ELBO (nats)", elbo), kl_row(label, metrics)]
        summary.append(f"| {objective} | {k} | {epochs} | {wall / 60:.1f} min | {elbo:.2f} | "
                       f"{nll:.2f} | {REFERENCE.get(k, '-')} |")
        print(f"K={k}, {epochs} epochs: test NLL {nll:.2f}, -ELBO {elbo:.2f}, "
              f"{wall / 60:.1f} min", flush=True)
        scored.insert(0, (f"{objective} K={k}", nll))  # the largest K first: the headline
    minutes = (time.perf_counter() - t_all) / 60
    candidates = ", ".join(map(str, c.budgets))
    net = f"{data.dim}-{'-'.join([str(c.hidden_dim)] * c.hidden_layers)}-{c.latent_dim}"
    budget = (f"candidates {candidates} epochs on {len(fit.train):,} images, validation NLL "
              f"on {len(fit.test):,} others; the chosen budget on {len(data.train):,} images "
              f"({name}{', quick' if run.quick else ''}); batch {c.batch_size}; MLP {net} "
              f"(ReLU), Adam {c.learning_rate:g} decayed per epoch to "
              f"{c.final_learning_rate:g}; {minutes:.1f} min wall in all")
    notes = [
        "Reference: Burda et al. 2015, Table 1 (MNIST, one stochastic layer): VAE 86.76, "
        "IWAE k=5 85.54, k=50 84.78 nats; two hidden layers of 200 tanh units, latent 50, "
        "batch 20, 3,280 passes (Adam 1e-3 down to 1e-4 in 8 stages). Ours: ReLU, batch 100, "
        "fewer passes, so the difference is mostly training length.",
        f"Budget chosen on validation: each candidate ({candidates} epochs) is its own model "
        f"(the learning rate decays over its whole budget), trained on the first "
        f"{len(fit.train):,} training images and scored by the NLL of the last "
        f"{len(fit.test):,}; the rule, fixed before the runs: the smallest budget within "
        f"{c.tolerance:g} nats of the best validation NLL. The test set is read once, by the "
        "chosen model. (Earlier versions read the test NLL at 700 epochs, 86.15, and raised "
        "the budget to 1,600 on it: a choice on the test set.)",
        "Dynamic binarization: every training batch is a fresh Bernoulli draw from the grey "
        "levels; the validation and test images are binarized once (fixed seed), as in "
        "`--binarize`.",
        f"NLL: -log p(x) estimated with {c.nll_samples} importance draws from q(z|x) per "
        "image (the IWAE bound at k draws, which approaches log p(x) from below), averaged "
        "over the validation or test images; -ELBO: one posterior draw per test image.",
        kl_explained("the (binarized) test images"),
    ]
    epochs_read = "; ".join(f"K={k} {e}" for k, e in chosen.items())
    read = headline(split, f"test NLL, k={c.nll_samples} (nats)", scored,
                    f"MLP {net}, epochs chosen on validation from {candidates} ({epochs_read}), "
                    f"batch {c.batch_size}")
    path = run.write_table("Test NLL on dynamically binarized MNIST: VAE vs IWAE training",
                           "Burda et al. 2015 (IWAE), Table 1, one stochastic layer; no thesis "
                           "table. The 'thesis' column holds the paper's numbers",
                           rows, budget, notes=notes, test_reads=[read] if read else [])
    with open(path, "a") as f:
        f.write("\n## Summary\n\n| objective | K | epochs (chosen) | wall time | test -ELBO | "
                f"test NLL (k={c.nll_samples}) | Burda et al. 2015 |\n"
                "|---|---|---|---|---|---|---|\n" + "\n".join(summary) + "\n")
    print(path)


if __name__ == "__main__":
    scaffold.start(get_config, main, define_flags, logs="iwae_training")
