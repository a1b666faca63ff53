"""vae_tf: the thesis "Variational Autoencoders & Applications" in TensorFlow 2 / Keras 3.

`vae_tf.KNNImputer` and `vae_tf.VAEImputer` are loaded on first use, so importing the
package stays light (TensorFlow loads only with the VAE).
"""

import importlib

__version__ = "0.1.0"

_LAZY = {"KNNImputer": "vae_tf.knn", "VAEImputer": "vae_tf.vae_imputer",
         "MIWAEImputer": "vae_tf.miwae"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vae_tf' has no attribute {name!r}")


__all__ = ["KNNImputer", "MIWAEImputer", "VAEImputer"]
