"""vae_tf: the thesis "Variational Autoencoders & Applications" in TensorFlow 2 / Keras 3.

The imputers (`KNNImputer`, `VAEImputer`, `MIWAEImputer`, `RatingVAE`, `SeedEnsemble`) and
`load_model` load on first use, so importing the package stays light (TensorFlow loads with the VAE).
"""

import importlib

from vae_tf.imputers.registry import classes as _imputer_classes

__version__ = "0.1.0"

_LAZY = {**_imputer_classes(), "load_model": "vae_tf.model_file"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vae_tf' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = sorted(_LAZY)
