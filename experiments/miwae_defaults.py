"""MIWAE's defaults on images: the best setting that fits in 20 minutes on 20,000 images.

Nothing in the thesis. Candidate MIWAE settings (the MLP's width and depth or conv.py's
convolutions, latent size, importance samples K of the training bound) are each trained
on the first N holed MNIST training images; every `--eval_every` epochs (the MLP's; the
convolutions, several times slower an epoch, every `--conv_eval_every`) the fit stops,
the imputer fills 1,000 holed validation images (never the test set), its KL and latent
units in use on them are recorded (vae_tf/collapse.py), and training resumes from its
checkpoint.
A (setting, epochs) pair is admissible when its fit took at most `--budget_minutes`;
the admissible pair with the lowest validation RMSE on missing entries (the mean over
the schemes) becomes MIWAEImputer's default, and the table says which.

    python experiments/miwae_defaults.py --quick
    python experiments/miwae_defaults.py --data_root=../shared/data
    python experiments/miwae_defaults.py --data_root=../shared/data --variant=random
        # the same candidates on random holes, beside it: miwae_defaults_random.md
"""

import dataclasses
import os
import sys
import tempfile
import time

if not __package__:  # python experiments/miwae_defaults.py: import the package, not its files
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

from experiments import scaffold  # noqa: E402
from experiments.common import Row, kl_explained, kl_row  # noqa: E402
from experiments.holes import TRAIN, VALID, holes  # noqa: E402

SCHEMES = ("structured", "random")
NAME = "miwae_defaults"  # the table MIWAEImputer's defaults follow


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(scaffold.Config):
    """miwae_defaults' candidates and budget."""

    missing: tuple  # hole schemes; the choice uses the mean of their validation RMSEs
    n_train: int  # holed training images: the first N of the training set
    n_valid: int  # validation images: MNIST's first (mnist_5k: its last training images)
    # (arch, hidden layers, hidden units, latent, K): the levers that fit the budget on two
    # CPU cores. conv: conv.py's encoder and decoder (one hidden Dense layer each way), on
    # the image and its mask as two channels; it closed the half-image target in
    # miwae_vs_knn_conv.md. Left out: K = 20 (twice the time per epoch) and one hidden
    # layer (the old default): in pilots on the same images neither beat two layers at
    # K = 5 at equal fit time.
    candidates: tuple
    max_epochs: int  # of an MLP setting
    eval_every: int  # epochs between validation evaluations (MLP)
    conv_max_epochs: int
    conv_eval_every: int
    budget_minutes: float  # the fit time a default may take on n_train images
    impute_samples: int  # importance samples L of the imputation


def get_config(quick: bool) -> Config:
    # CUT: no MLP 2x600 (in the quick run either), and the MLP stops at 100 epochs (random
    # holes: 200, where the best MLP README quotes was scored); 35 and 39 min, the tables'
    # 3,476 and 3,507 s less that MLP's fit (995, 998 s) and the 2x400's past its stop (409,
    # 205 s).
    mlps = (("mlp", 2, 400, 32, 5),)
    return Config(table=NAME, stage=scaffold.Stage("beyond", False, (35, 1)),
                  missing=("structured",), n_train=1500 if quick else 20000,
                  n_valid=300 if quick else 1000, candidates=mlps + (("conv", 1, 400, 32, 5),),
                  max_epochs=4 if quick else 100, eval_every=2 if quick else 50,
                  conv_max_epochs=2 if quick else 100, conv_eval_every=1 if quick else 10,
                  budget_minutes=20.0, impute_samples=100 if quick else 1000,
                  variants={"random": dict(table="miwae_defaults_random", missing=("random",),
                                           max_epochs=4 if quick else 200,
                                           stage=scaffold.Stage("beyond", False, (39, 1)))})


# What the full run leaves out, what that costs, and the figures it rests on (scheme ->).
CUT = ("Cut for the release's 8-hour tier: no MLP 2x600 (latent 64), and the MLP stops at "
       "{cap} epochs (saves about {saves} min). The convolutions won by {gap} ({conv} against "
       "the best MLP's {mlp}, {mlp_at} epochs); the best 2x600 scored {wide}, the 2x400 past "
       "{cap} epochs at best {late} ({file} at {commit}).")
CUT_FIGURES = {
    "structured": dict(cap=100, saves=23, gap="0.010", conv="0.1924", mlp="0.2019", mlp_at=100,
                       wide="0.2035", late="0.2025", file="miwae_defaults.md",
                       commit="f791ba7"),
    "random": dict(cap=200, saves=20, gap="0.020", conv="0.1082", mlp="0.1285", mlp_at=200,
                   wide="0.1295", late="0.1289", file="miwae_defaults_random.md",
                   commit="53e1df6")}


def define_flags() -> None:
    scaffold.define_subset("missing", SCHEMES, "Hole schemes; the choice uses their mean "
                           "(structured by default, where MIWAE trailed the K-NN).")
    flags.DEFINE_integer("n_train", None, "Holed training images (the first N of MNIST's "
                         "train).", lower_bound=1)
    flags.DEFINE_integer("max_epochs", None, "Epochs at most per MLP setting.", lower_bound=1)
    flags.DEFINE_integer("eval_every", None, "Epochs between validation evaluations (MLP).",
                         lower_bound=1)
    flags.DEFINE_integer("conv_eval_every", None, "Epochs between validation evaluations "
                         "(conv).", lower_bound=1)
    flags.DEFINE_integer("conv_max_epochs", None, "Epochs at most of the conv setting.",
                         lower_bound=1)
    flags.DEFINE_float("budget_minutes", None, "Fit time a default may take on n_train "
                       "images.", lower_bound=1e-9)
    flags.DEFINE_integer("impute_samples", None, "Importance samples L of the imputation.",
                         lower_bound=1)


T0 = time.perf_counter()


def say(message: str) -> None:
    print(f"[{time.perf_counter() - T0:7.1f} s] {message}", flush=True)


def label(candidate) -> str:
    arch, layers, hidden, latent, k = candidate
    net = f"conv (hidden {hidden})" if arch == "conv" else f"MLP {layers}x{hidden}"
    return f"{net}, latent {latent}, K={k}"


def curve(run: scaffold.Run, candidate, train_holed, valid, valid_holed, valid_mask, logdir,
          max_epochs, every, budget_s):
    """[(epochs, cumulative fit seconds, validation RMSE missing, collapse.latent_diagnosis
    on the validation images)] of one setting, up to max_epochs or the first point over the
    budget."""
    from vae_tf.collapse import latent_diagnosis
    from vae_tf.imputers.miwae import MIWAEImputer
    from vae_tf.metrics import rmse
    arch, layers, hidden, latent, k = candidate
    shape = dict(arch="conv", image_shape=(28, 28)) if arch == "conv" else {}
    imputer = MIWAEImputer(latent_dim=latent, hidden_dim=hidden, hidden_layers=layers,
                           train_samples=k, impute_samples=run.config.impute_samples,
                           seed=run.config.seed, logdir=logdir, **shape)
    out, fit_seconds = [], 0.0
    for epochs in range(every, max_epochs + 1, every):
        if fit_seconds > budget_s:  # the last point was over the budget: no default past it
            break
        t0 = time.perf_counter()
        imputer.set_params(epochs=epochs).fit(train_holed)  # resumes from the checkpoint
        fit_seconds += time.perf_counter() - t0
        error = rmse(valid, imputer.transform(valid_holed), ~valid_mask)
        out.append((epochs, fit_seconds, error, latent_diagnosis(imputer, valid_holed)))
        say(f"{label(candidate)}: {epochs} epochs, {fit_seconds:.0f} s, validation RMSE "
            f"{error:.4f}")
    return out


def main(run: scaffold.Run) -> None:
    c = run.config
    data = run.load(run.dataset("mnist"))
    train = data.train[:c.n_train]
    if data.validation is not None:
        valid = data.validation[:c.n_valid]
    else:  # mnist_5k (--quick) has no validation split: its last training images
        valid = data.train[-c.n_valid:]
    schedule = {"mlp": (c.max_epochs, c.eval_every),  # (max epochs, evaluation every)
                "conv": (c.conv_max_epochs, c.conv_eval_every)}
    budget_s = c.budget_minutes * 60
    # A fresh folder per run: a checkpoint of an earlier run would make its "50 epochs"
    # the earlier run's last model, trained in no time.
    os.makedirs(run.log_root, exist_ok=True)
    run_root = tempfile.mkdtemp(prefix="run-", dir=run.log_root)
    curves = {}  # (candidate, scheme) -> curve
    for scheme in c.missing:
        # The same seeds as experiments/miwae_vs_knn.py (training +4, validation +6).
        train_holed = holes(train, scheme, c.seed + TRAIN)[0]
        valid_holed, valid_mask = holes(valid, scheme, c.seed + VALID)
        for i, candidate in enumerate(c.candidates):
            logdir = os.path.join(run_root, f"{scheme}-{i}")
            curves[candidate, scheme] = curve(run, candidate, train_holed, valid, valid_holed,
                                              valid_mask, logdir, *schedule[candidate[0]],
                                              budget_s)
    rows, best = [], None
    for candidate in c.candidates:
        points_per_scheme = min(len(curves[candidate, s]) for s in c.missing)
        for j in range(points_per_scheme):
            epochs = curves[candidate, c.missing[0]][j][0]
            points = [curves[candidate, s][j] for s in c.missing]
            seconds = max(p[1] for p in points)
            error = float(np.mean([p[2] for p in points]))
            fits = seconds <= budget_s
            group = f"{label(candidate)}, {epochs} epochs"
            rows += [Row(group, f"validation RMSE missing (mean of {'+'.join(c.missing)})", error,
                         note=", ".join(f"{s} {p[2]:.4f}" for s, p in zip(c.missing, points))
                         + f"; fit {seconds:.0f} s" + ("" if fits else " (over budget)")),
                     kl_row(group, {s: p[3] for s, p in zip(c.missing, points)},
                            "validation KL (nats)")]
            if fits and (best is None or error < best[0]):
                best = (error, candidate, epochs, seconds)
    notes = [f"Admissible: a fit of at most {c.budget_minutes:g} min on {len(train):,} "
             "images (the slower scheme's cumulative fit time, evaluations excluded).",
             kl_explained("the holed validation images, q(z | x_obs) given their observed "
                          "pixels (with several schemes, the mean of their models)")]
    wide = ("mlp", 2, 600, 64, 5)
    figures = CUT_FIGURES.get(c.missing[0]) if len(c.missing) == 1 else None
    if not run.quick and wide not in c.candidates and figures and \
            c.max_epochs == figures["cap"]:
        notes.append(CUT.format(**figures))
    if best is None:
        notes.append("No setting fitted in the budget.")
    else:
        notes.append(f"Chosen (lowest validation RMSE within the budget): {label(best[1])}, "
                     f"{best[2]} epochs ({best[3]:.0f} s)"
                     + (": MIWAEImputer's defaults." if c.table == NAME else
                        f". MIWAEImputer's defaults follow {NAME}.md, not this table."))
    budget = (f"quick: {len(train):,} mnist_5k images, the MLPs {c.max_epochs} epochs, conv "
              f"{c.conv_max_epochs}, L={c.impute_samples}" if run.quick else
              f"first {len(train):,} MNIST training images per scheme, up to "
              f"{c.max_epochs} epochs per MLP setting (validation every "
              f"{c.eval_every}) and {c.conv_max_epochs} of conv (every "
              f"{c.conv_eval_every}), batch 100, Adam 1e-3, L={c.impute_samples}")
    print(run.write_table("MIWAE's default setting: validation RMSE within a "
                          f"{c.budget_minutes:g}-minute fit",
                          "nothing in the thesis (MIWAE's defaults on images)", rows, budget,
                          notes=notes))


if __name__ == "__main__":
    scaffold.start(get_config, main, define_flags, logs=NAME)
