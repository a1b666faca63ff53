"""The imputers, scikit-learn style (see base.py): NaN marks a missing entry.

KNNImputer: the thesis's K-NN (no TensorFlow). VAEImputer: the thesis's VAE fill-in
algorithm. MIWAEImputer: a VAE trained on the observed entries only, imputing by
importance sampling. RatingVAE: rating prediction for a users x items matrix.
SeedEnsemble: a trained imputer from several seeds, its fills averaged.
The VAE, MIWAE and rating imputers train through the engine (vae_tf/engine.py) and load
TensorFlow.
"""

import importlib

from vae_tf.imputers.registry import classes

_WHERE = classes()  # class name -> module, from the imputer registry (registry.py)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'vae_tf.imputers' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_WHERE))


__all__ = sorted(_WHERE)
