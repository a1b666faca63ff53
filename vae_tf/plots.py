"""Matplotlib figures written to `<logdir>/figures/`."""

import os
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ImageShape = Tuple[int, int, int]


def _show(ax, flat: np.ndarray, image_shape: ImageShape) -> None:
    h, w, c = image_shape
    img = np.clip(np.asarray(flat, np.float64).reshape(h, w, c), 0, 1)
    ax.imshow(img[..., 0] if c == 1 else img, cmap="gray" if c == 1 else None,
              vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def image_rows(path: str, rows: Sequence[np.ndarray], labels: Sequence[str],
               image_shape: ImageShape, title: str = "", cell: float = 0.75) -> str:
    """One labelled row of images per array in `rows` ([n, D] each); returns the path.

    Each image is `cell` inches wide with a small fixed gap; the row labels sit left of
    the first column and the title above, and the saved PNG is cropped to its contents.
    """
    n = max(len(r) for r in rows)
    h, w, _ = image_shape
    gap, cell_h = 0.06, cell * h / w
    height = len(rows) * cell_h + (len(rows) - 1) * gap  # inches
    fig, axes = plt.subplots(len(rows), n, squeeze=False,
                             figsize=(n * cell + (n - 1) * gap, height))
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1, wspace=gap / cell, hspace=gap / cell_h)
    for r, (row, label) in enumerate(zip(rows, labels)):
        for i in range(n):
            ax = axes[r, i]
            if i < len(row):
                _show(ax, row[i], image_shape)
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=10,
                              labelpad=6)
    if title:
        fig.text(0.5, 1 + 0.1 / height, title, ha="center", va="bottom", fontsize=11)
    return _save(fig, path, crop=True)


def shown_examples(labels: Optional[np.ndarray], eligible: np.ndarray, n: int = 10) -> np.ndarray:
    """Indices of n eligible examples, each of another label where labels allow, spread out.

    labels: [N] or None; eligible: [N] bool (e.g. the examples that have holes).
    """
    candidates = np.flatnonzero(eligible)
    if labels is not None:
        classes = np.unique(labels[candidates])
        if len(classes) >= n:  # the first eligible example of n labels spread over them all
            keep = classes[np.linspace(0, len(classes) - 1, n).round().astype(int)]
            return np.array([candidates[labels[candidates] == c][0] for c in keep])
    return candidates[np.linspace(0, len(candidates) - 1, min(n, len(candidates))).astype(int)]


def image_grid(path: str, images: np.ndarray, image_shape: ImageShape, cols: int = 10,
               title: str = "") -> str:
    """A cols-wide grid of flat images [n, D]."""
    rows = [images[i:i + cols] for i in range(0, len(images), cols)]
    return image_rows(path, rows, [""] * len(rows), image_shape, title)


def loss_curves(path: str, history: List[Dict[str, float]], title: str = "",
                elbo: bool = False) -> str:
    """Per epoch: the -ELBO and its terms (`train/*`, `test/*` keys of the history records).

    elbo=True plots the bound itself (ELBO = -loss, train and test), the sign of the
    thesis's "ELBO in each epoch" slides.
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = [h["epoch"] for h in history]
    keys = ("train/loss", "test/loss") if elbo else (
        "train/loss", "test/loss", "train/reconstruction", "train/kl")
    for key in keys:
        if all(key in h for h in history) and history:
            label = key.split("/")[0] + " ELBO" if elbo else key
            ax.plot(epochs, [-h[key] if elbo else h[key] for h in history], label=label,
                    marker="." if len(epochs) < 30 else None)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("ELBO (nats per example)" if elbo else "nats per example (-ELBO)")
    ax.set_title(title or ("ELBO per epoch" if elbo else "loss per epoch"), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def latent_scatter(path: str, z: np.ndarray, labels: Optional[np.ndarray]) -> str:
    """2-D latent means coloured by label. z: [N, 2]."""
    fig, ax = plt.subplots(figsize=(6, 5))
    points = ax.scatter(z[:, 0], z[:, 1], c=labels if labels is not None else None,
                        cmap="tab10", s=4)
    if labels is not None:
        fig.colorbar(points, ax=ax, label="label")
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title("latent means of the test set")
    return _save(fig, path)


def _save(fig, path: str, crop: bool = False) -> str:
    """Write the PNG (crop: to the figure's contents with a thin margin) and close the figure."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if crop:
        fig.savefig(path, dpi=100, bbox_inches="tight", pad_inches=0.05)
    else:
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def ratings_by_truth(path: str, truth: np.ndarray, predicted: np.ndarray, title: str) -> str:
    """Box plots of the predicted ratings for each true rating 1..5."""
    fig, ax = plt.subplots(figsize=(6, 4))
    groups = [predicted[truth == r] for r in range(1, 6)]
    ax.boxplot(groups, positions=range(1, 6), showfliers=False)
    ax.plot([1, 5], [1, 5], "k--", lw=0.8, label="perfect")
    ax.set_xlabel("true rating")
    ax.set_ylabel("predicted rating")
    ax.set_title(title, fontsize=10)
    ax.legend()
    return _save(fig, path)


def holdout_bars(path: str, names: Sequence[str], errors: Sequence[float],
                 baseline: Sequence[float], title: str) -> str:
    """Each column's estimated imputation error (RMSE in standard deviations on held-out
    cells) beside the column mean's, as horizontal bars (the first column on top)."""
    n = len(names)
    fig, ax = plt.subplots(figsize=(6.5, 1.2 + 0.28 * n))
    rows = np.arange(n)[::-1]
    ax.barh(rows + 0.2, baseline, height=0.4, color="0.75", label="column mean")
    ax.barh(rows - 0.2, errors, height=0.4, color="tab:blue", label="imputer")
    ax.set_yticks(rows)
    ax.set_yticklabels(names, fontsize=8)
    ax.axvline(1.0, color="k", lw=0.6, ls=":")
    ax.set_xlabel("RMSE on held-out cells (column standard deviations)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)
