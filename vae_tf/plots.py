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
               image_shape: ImageShape, title: str = "") -> str:
    """One labelled row of images per array in `rows` ([n, D] each); returns the path."""
    n = max(len(r) for r in rows)
    h, w, _ = image_shape
    fig, axes = plt.subplots(len(rows), n, squeeze=False,
                             figsize=(n * 0.9 + 1.4, len(rows) * 0.9 * h / w + 0.5))
    for r, (row, label) in enumerate(zip(rows, labels)):
        for i in range(n):
            ax = axes[r, i]
            if i < len(row):
                _show(ax, row[i], image_shape)
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def image_grid(path: str, images: np.ndarray, image_shape: ImageShape, cols: int = 10,
               title: str = "") -> str:
    """A cols-wide grid of flat images [n, D]."""
    rows = [images[i:i + cols] for i in range(0, len(images), cols)]
    return image_rows(path, rows, [""] * len(rows), image_shape, title)


def loss_curves(path: str, history: List[Dict[str, float]], title: str = "") -> str:
    """-ELBO per epoch for every `train/*`, `test/*` key present in the history records."""
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = [h["epoch"] for h in history]
    for key in ("train/loss", "test/loss", "train/reconstruction", "train/kl"):
        if all(key in h for h in history) and history:
            ax.plot(epochs, [h[key] for h in history], label=key, marker="." if len(epochs) < 30 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per example (-ELBO)")
    ax.set_title(title or "loss per epoch")
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


def _save(fig, path: str) -> str:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
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
