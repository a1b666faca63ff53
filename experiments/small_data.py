"""Helpers of experiments/small_data_imputation.py: the splits, the shifted copies, the
block means the face models see, MIWAE's setting strings, a paired bootstrap and the
table's budget line and protocol notes (MIWAE's validation path is small_data_miwae.py).

The protocol itself is described in small_data_imputation.py's docstring.
"""

import dataclasses

import numpy as np

FACTOR = {"orl_faces": 2, "yale_faces": 4}  # model pixels: 56x46 (ORL), 48x42 (Yale)


@dataclasses.dataclass
class Split:
    """Clean images [N, D] of one dataset: the training pool's parts, validation, test."""

    name: str
    shape: tuple  # (H, W, C)
    fit: np.ndarray  # the target's training images (validation left out)
    pool: np.ndarray  # more training images (other alphabets), maybe empty
    valid: np.ndarray
    test: np.ndarray
    about: str


def load_split(name: str, root: str, share: float = 1.0) -> Split:
    """The dataset's split (module docstring); with share < 1, every (1 / share)-th image of
    each part (--quick: a quarter)."""
    from vae_tf import datasets
    folder = datasets.data_dir_for(name, root)
    if folder is None:
        raise FileNotFoundError(name)
    if name.startswith("omniglot"):
        from vae_tf.datasets.omniglot import ALPHABETS
        from vae_tf.datasets.omniglot_pool import load_alphabet, load_pool
        x, _, drawer = load_alphabet(folder, ALPHABETS[name])
        pool, others = load_pool(folder, ALPHABETS[name])
        split = Split(name, (28, 28, 1), x[drawer <= 12], pool, x[(drawer > 12) & (drawer <= 15)],
                      x[drawer > 15], f"{ALPHABETS[name]} drawers 1-12 + {', '.join(others)}; "
                      "validation drawers 13-15; test drawers 16-20")
    else:
        data = datasets.load(name, folder)
        place = np.zeros(len(data.train), int)  # each image's place among its subject's
        for s in np.unique(data.train_labels):
            rows = np.flatnonzero(data.train_labels == s)
            place[rows] = np.arange(len(rows))
        valid = place == 8 if name == "orl_faces" else place % 5 == 4
        split = Split(name, data.image_shape, data.train[~valid], data.train[:0],
                      data.train[valid], data.test,
                      "training split less " + ("image 9 of each subject" if name == "orl_faces"
                                                else "every 5th image of each subject"))
    every = round(1 / share)
    if every > 1:
        split = dataclasses.replace(split, **{f: getattr(split, f)[::every]
                                              for f in ("fit", "pool", "valid", "test")})
    return split


def shifted(holed: np.ndarray, shape, step: int) -> np.ndarray:
    """holed [N, D] and its copies shifted by `step` pixels up, down, left, right: [5N, D]."""
    h, w, c = shape
    image = holed.reshape(-1, h, w, c)
    out = [holed]
    for axis in (1, 2):
        for sign in (1, -1):
            moved = np.full_like(image, np.nan)  # the new border is missing
            n = image.shape[axis]
            src = [slice(None)] * 4
            dst = [slice(None)] * 4
            src[axis] = slice(0, n - step) if sign > 0 else slice(step, n)
            dst[axis] = slice(step, n) if sign > 0 else slice(0, n - step)
            moved[tuple(dst)] = image[tuple(src)]
            out.append(moved.reshape(len(holed), -1))
    return np.concatenate(out)


def down(holed: np.ndarray, shape, f: int) -> np.ndarray:
    """Area means over f x f blocks [N, H/f * W/f * C]; a block with a hole is missing (NaN)."""
    if f == 1:
        return holed
    h, w, c = shape
    return holed.reshape(-1, h // f, f, w // f, f, c).mean((2, 4)).reshape(len(holed), -1)


def up(low: np.ndarray, holed: np.ndarray, shape, f: int) -> np.ndarray:
    """The model's imputation `low` upsampled bilinearly into the holes of `holed` [N, D]."""
    if f == 1:
        return np.where(np.isnan(holed), low, holed)
    import tensorflow as tf
    h, w, c = shape
    big = tf.image.resize(low.reshape(-1, h // f, w // f, c), (h, w), "bilinear").numpy()
    return np.where(np.isnan(holed), big.reshape(len(holed), -1), holed)


def parse(config: str):
    """'2x256x16x20' -> ("mlp", hidden layers, units, latent dimensions, training samples K);
    'cx400x32x5' -> ("conv", 1, units, latent, K): conv.py's encoder and decoder, one hidden
    Dense layer of `units` each way."""
    parts = config.split("x")
    arch = "conv" if parts[0] == "c" else "mlp"
    try:
        layers, hidden, latent, k = (int(v) for v in (["1"] + parts[1:] if arch == "conv"
                                                         else parts))
    except ValueError:
        raise SystemExit(f"MIWAE setting {config!r}: expected layers x units x latent x K "
                         "(e.g. 2x256x16x20), or c x units x latent x K for the "
                         "convolutions (e.g. cx400x32x5)") from None
    return arch, layers, hidden, latent, k


def valid_setting(config: str) -> bool:
    """Whether `config` is layers x units x latent x K, or c x units x latent x K."""
    parts = config.split("x")
    return len(parts) == 4 and all(w.isdigit() and int(w) > 0
                                   for w in (parts[1:] if parts[0] == "c" else parts))


def config_label(config: str) -> str:
    arch, layers, hidden, latent, k = parse(config)
    net = f"conv (hidden {hidden})" if arch == "conv" else f"{layers}x{hidden}"
    return f"{net}, latent {latent}, K={k}"


def paired_interval(truth, a, b, where, seed, draws=2000):
    """95 % interval of RMSE(a) - RMSE(b), resampling images [N, D] with replacement."""
    sq_a = np.where(where, (a - truth) ** 2, 0).sum(1)
    sq_b = np.where(where, (b - truth) ** 2, 0).sum(1)
    count = where.sum(1)
    picks = np.random.default_rng(seed).integers(0, len(truth), (draws, len(truth)))
    diff = (np.sqrt(sq_a[picks].sum(1) / count[picks].sum(1))
            - np.sqrt(sq_b[picks].sum(1) / count[picks].sum(1)))
    return np.percentile(diff, 2.5), np.percentile(diff, 97.5)


def pretraining_images(name: str, root, n: int, shape, scheme: str, seed: int,
                       thirds: bool) -> np.ndarray:
    """The first n training images of `name` (MNIST) with holes of `scheme`, seeded."""
    from vae_tf import datasets
    from vae_tf.missing import apply_mask, make_mask
    x = datasets.load(name, datasets.data_dir_for(name, root)).train[:n]
    return apply_mask(x, make_mask(len(x), shape, scheme, seed, third_rows=thirds))


def check_pretraining_data(names, root) -> None:
    """One line and exit when OMNIGLOT's MNIST pretraining has no MNIST under `root`."""
    from vae_tf.datasets import data_dir_for
    if any(n.startswith("omniglot") for n in names) and data_dir_for("mnist", root) is None:
        raise SystemExit(f"--data_root={root} has no mnist/ folder for the OMNIGLOT "
                         "pretraining; add it, or pass --pretrain_epochs=0")


def budget(c, quick: bool) -> str:
    """The table's budget line for the config `c` (small_data_imputation.Config)."""
    ran = set(c.datasets)
    return (f"{'quick: a quarter of the images, ' if quick else ''}K in {list(c.ks)}; "
            + (f"thesis VAE {c.vae_epochs} epochs (one batch, Adam 0.01); "
               if c.vae_epochs else "no thesis VAE (--vae_epochs=0); ")
            + "MIWAE (layers x units x latent x K, c = conv; Adam 1e-3, batch 100) "
            + (f"{list(c.omniglot_configs)} at epochs {list(c.omniglot_epochs)} (OMNIGLOT), "
               if ran & {"omniglot_en", "omniglot_gr"} else "")
            + (f"{list(c.face_configs)} at {list(c.face_epochs)} (faces), "
               if ran & {"orl_faces", "yale_faces"} else "")
            + f"L={c.impute_samples}; "
            + (f"each MIWAE setting the mean of {c.miwae_seeds} seeds; "
               if c.miwae_seeds > 1 else "")
            + (f"OMNIGLOT settings also pretrained on {c.pretrain_images:,} holed "
               f"MNIST images for {c.pretrain_epochs} epochs; " if c.pretrain_epochs else "")
            + f"shifted copies for {list(c.augment)}")


def protocol_notes(grid_given: bool) -> list:
    """The table's notes on the protocol; whether the MIWAE grid came from the pilots or was
    given (the command line, a variant)."""
    return ["Holes: structured = a fifth of the images each lose the lower part (faces: "
            "from H/3 down), the upper, left or right half; one fifth stays whole. Seeds: "
            "seed (target training images), +1 (other alphabets), +2 (validation), "
            "+3 (test), +7 (the MNIST pretraining images).",
            "The VAEs see the faces as 56x46 (ORL) and 48x42 (Yale) area means; their "
            "imputations are upsampled bilinearly. Column means and the K-NN work at "
            "full resolution.",
            "The fixed settings (the MIWAE grids, the resolutions, which pools gain the "
            "shifted copies: not Yale's, 994 images, for time) were set in pilots scored "
            "on the validation images." if not grid_given else
            "The MIWAE grid and its epochs were given on the command line (not chosen by "
            "a pilot of this script); the resolutions and which pools gain the shifted "
            "copies (not Yale's, 994 images, for time) were set in pilots scored on the "
            "validation images."]
