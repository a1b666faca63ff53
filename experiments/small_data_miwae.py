"""MIWAE in experiments/small_data_imputation.py: each setting's validation path through its
checkpoints, the choice among them, and the chosen one's imputation.

A setting (small_data.parse) is trained `seeds` times (seeds seed, seed+1, ...); at each
checkpoint every model imputes the validation images, alone ("single") and as the mean of
its imputations at the checkpoints so far (a snapshot ensemble, "mean"), and the seeds'
imputations are averaged. The (setting, start, checkpoint, kind) with the lowest validation
RMSE is chosen; only then are the test images imputed (and the chosen models' KL and
latent units in use measured on them). A start is None (from scratch) or
(holed MNIST images, epochs): pretrained on them first, then fitted from there.
"""

import dataclasses
import hashlib
import shutil
import tempfile
from typing import Callable, Dict, List, Optional

import numpy as np
from absl import logging

from experiments.small_data import config_label, parse

_PRETRAINED = {}  # (setting, seed, images, their holes, epochs) -> the pretrained imputer


@dataclasses.dataclass
class Choice:
    """The setting chosen on validation: its name, checkpoint, kind, score and models."""

    name: str  # config_label, with its start and seeds
    epochs: int
    kind: str  # "single" or "mean" (the snapshot ensemble up to `epochs`)
    score: float  # validation RMSE
    members: List[tuple]  # per seed: (validation imputations, imputer, {epochs: weights})


def choose(settings, starts, checkpoints, seeds: int, seed: int, impute_samples: int, train,
           valid_holed, shape, score: Callable, label: str, notes: List[str]) -> Choice:
    """Run every setting from every start; notes of their validation RMSEs; the best."""
    paths = {}  # name -> ({(epochs, kind): validation RMSE}, members)
    for setting in settings:
        for start in starts:
            name = config_label(setting) + ("" if start is None else
                                            f", pretrained on {len(start[0]):,} holed MNIST "
                                            f"images for {start[1]} epochs") + (
                f", mean of {seeds} seeds" if seeds > 1 else "")
            members = [path(setting, train, valid_holed, score, checkpoints, seed + j,
                            impute_samples, shape, pretrain=start) for j in range(seeds)]
            scores = {key: score(np.mean([m[0][key] for m in members], axis=0))
                      for key in members[0][0]}
            paths[name] = (scores, members)
            notes.append(f"{label}: MIWAE {name} validation RMSE per epochs (snapshot mean): "
                         + ", ".join(f"{e}: {scores[e, 'single']:.4f} ({scores[e, 'mean']:.4f})"
                                     for e in checkpoints))
            if seeds > 1:  # what each seed alone scores at the last checkpoint
                last = checkpoints[-1]
                notes.append(f"{label}: MIWAE {name}: each seed alone at {last} epochs "
                             "(snapshot mean): " + ", ".join(
                                 f"seed {seed + j}: {score(m[0][last, 'mean']):.4f}"
                                 for j, m in enumerate(members)))
    name, (epochs, kind) = min(((n, key) for n in paths for key in paths[n][0]),
                               key=lambda choice: paths[choice[0]][0][choice[1]])
    scores, members = paths[name]
    return Choice(name, epochs, kind, scores[epochs, kind], members)


def impute(choice: Choice, holed) -> np.ndarray:
    """The chosen models' imputation of `holed`, averaged over the seeds."""
    return np.mean([snapshot_impute(imputer, snapshots, choice.epochs, choice.kind, holed)
                    for _, imputer, snapshots in choice.members], axis=0)


def path(config: str, train, valid_holed, score, checkpoints, seed, impute_samples: int,
         shape, pretrain: Optional[tuple] = None):
    """Train one MIWAE on images of `shape` (H, W, C), scoring validation at each checkpoint.

    Returns ({(epochs, kind): validation imputation}, the imputer, {epochs: weights}).
    `pretrain` = (holed images of the same width, epochs): train on them first and fit
    `train` from there (the pretrained imputer is kept for the next call with the same
    setting, seed and images).
    """
    from vae_tf.imputers.miwae import MIWAEImputer
    arch, layers, hidden, latent, k = parse(config)
    folder = tempfile.mkdtemp(prefix="miwae_")  # the fit resumes from checkpoint to checkpoint
    net = dict(arch="conv", image_shape=tuple(shape)) if arch == "conv" else {}
    imputer = MIWAEImputer(latent_dim=latent, hidden_dim=hidden, hidden_layers=layers,
                           batch_size=100, learning_rate=1e-3, train_samples=k,
                           impute_samples=impute_samples, seed=seed, logdir=folder, **net)
    if pretrain is not None:
        images, epochs = pretrain
        holes = hashlib.sha1(np.packbits(np.isnan(images)).tobytes()).hexdigest()
        key = (config, seed, len(images), holes, epochs)  # the same images with the same holes
        if key not in _PRETRAINED:
            logging.info("MIWAE %s: pretraining on %d images, %d epochs", config, len(images),
                         epochs)
            _PRETRAINED[key] = MIWAEImputer(**imputer.get_params()).set_params(
                logdir=None, epochs=epochs).fit(images)
        imputer.warm_start_from(_PRETRAINED[key])
    imputations, snapshots, outs = {}, {}, []
    try:
        for epochs in checkpoints:
            imputer.set_params(epochs=epochs).fit(train)
            snapshots[epochs] = [v.numpy() for v in imputer.model_.trainable_variables]
            outs.append(imputer.transform(valid_holed))
            imputations[epochs, "single"] = outs[-1]
            imputations[epochs, "mean"] = np.mean(outs, axis=0)
            logging.info("MIWAE %s, seed %d, %d epochs: validation RMSE %.4f (snapshot mean "
                         "%.4f)", config, seed, epochs, score(outs[-1]),
                         score(imputations[epochs, "mean"]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return imputations, imputer, snapshots


def snapshot_impute(imputer, snapshots, epochs: int, kind: str, holed) -> np.ndarray:
    """The imputation of `holed` by the model at `epochs`, or the snapshot mean up to it."""
    return np.mean([imputer.transform(holed)
                    for _ in _load_snapshots(imputer, snapshots, epochs, kind)], axis=0)


def latent_figures(choice: Choice, holed) -> Dict[str, dict]:
    """{name: collapse.latent_diagnosis on `holed`} of each model the chosen imputation
    averages: each seed's, at each snapshot it takes."""
    from vae_tf.collapse import latent_diagnosis
    return {f"seed {imputer.seed}, {e} epochs": latent_diagnosis(imputer, holed)
            for _, imputer, snapshots in choice.members
            for e in _load_snapshots(imputer, snapshots, choice.epochs, choice.kind)}


def _load_snapshots(imputer, snapshots, epochs: int, kind: str):
    """Put each snapshot `epochs` and `kind` take into `imputer` in turn, yielding its epochs."""
    for e in snapshots:
        if e == epochs or (kind == "mean" and e < epochs):
            for variable, value in zip(imputer.model_.trainable_variables, snapshots[e]):
                variable.assign(value)
            yield e
