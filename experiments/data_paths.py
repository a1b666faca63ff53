"""Where each dataset's original files live under a data root laid out like shared/data."""

import os
from typing import Optional

SUBFOLDER = {
    "mnist": "mnist", "binarized_mnist": "binarized_mnist", "cifar10_rgb": "cifar10",
    "cifar10_gray": "cifar10", "omniglot_en": "omniglot", "omniglot_gr": "omniglot",
    "orl_faces": "orl_faces", "yale_faces": "yale_faces", "movielens_100k": "movielens_100k",
}


def data_dir_for(name: str, root: Optional[str]) -> Optional[str]:
    """`<root>/<subfolder>` when it exists, else None (TensorFlow Datasets, or bundled)."""
    if not root or name not in SUBFOLDER:
        return None
    path = os.path.join(root, SUBFOLDER[name])
    return path if os.path.isdir(path) else None
