"""Checks of a run's settings against its data, made before TensorFlow starts.

The launcher loads file datasets before TensorFlow (numpy only), so a setting that does not
fit the data (a batch larger than the data, a K above the references, an imputer the data
cannot use, a model larger than the memory) is refused in a second or two, in one line.
train_run.py and impute_run.py call the same checks for library users.
"""

import os

from vae_tf import datasets
from vae_tf.config import Config
from vae_tf.errors import UserError
from vae_tf.imputers import registry


def check_kind(config: Config, ratings: bool) -> None:
    """One-line errors for a mode or imputer the kind of data (images, ratings) rules out;
    the launcher calls it with the dataset registry's kind, before loading anything."""
    if config.mode == "train" and ratings:
        raise UserError(f"--dataset={config.dataset} holds ratings, which --mode=train does "
                        "not model; use --mode=impute for it")
    kind = registry.RATINGS if ratings else registry.IMAGES
    own = registry.entry(config.imputer)
    if config.mode == "impute" and kind not in own.data:
        raise UserError(f"--imputer={config.imputer} {own.does}, and {config.dataset} holds "
                        f"{kind}; use --imputer={registry.spoken(registry.takers(kind))} for it")


def check_train_data(config: Config, data: datasets.Dataset) -> None:
    """One-line errors for data --mode=train cannot use with these settings."""
    check_kind(config, data.likelihood == datasets.RATINGS)
    for split in ("train", "test"):
        datasets.check_finite_unit(split, getattr(data, split), config.dataset)
    check_fits_in_memory(config, data.dim)
    if config.batch_size > len(data.train):
        raise UserError(f"--batch_size={config.batch_size} is larger than the "
                        f"{len(data.train)} training examples of {config.dataset}; "
                        f"pass --batch_size={min(len(data.train), 100)} or less")


def check_impute_data(config: Config, data: datasets.Dataset) -> bool:
    """One-line errors for an imputer the data cannot use; True for ratings."""
    ratings = data.likelihood == datasets.RATINGS
    check_kind(config, ratings)
    own = registry.entry(config.imputer)
    if "k" in own.own_flags:  # the K-NN: on ratings no user is its own neighbour
        limit = len(data.train) - ratings
        if config.k > limit:
            raise UserError(f"--k={config.k} is more than the {limit} reference examples "
                            f"of {config.dataset}; pass --k={limit} or less")
    if own.trains and not ratings:
        check_fits_in_memory(config, data.dim)
    n = data.train.shape[1] if own.examples == "columns" else len(data.train)
    if own.trains and config.batch_size > n and (  # tuned defaults: its own batch size
            not own.own_defaults or "batch_size" in config.given):
        raise UserError(f"--batch_size={config.batch_size} is larger than the {n} training "
                        f"examples of {config.dataset}; pass --batch_size={min(n, 100)} or less")
    return ratings



def check_fits_in_memory(c: Config, input_dim: int) -> None:
    """Refuse a model whose weights, Adam's two moments and gradients, plus one batch's
    activations, would need more than 80 % of this machine's memory (an estimate)."""
    d, h, z, b = input_dim, c.hidden_dim, c.latent_dim, c.batch_size
    params = 2 * (d * h + h) + 2 * (h * z + z) + (z * h + h) + (c.hidden_layers - 1) * 2 * (h * h + h)
    activations = b * (3 * d + 4 * h * c.hidden_layers + 4 * z)
    need = 4.0 * (4 * params + 3 * activations)
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system: no estimate
        return
    if need > 0.8 * total:
        raise UserError(f"--hidden_dim={h} --latent_dim={z} --batch_size={b} need about "
                        f"{need / 1e9:.0f} GB for {input_dim}-entry data, more than this "
                        f"machine's {total / 1e9:.0f} GB; pass smaller sizes")
