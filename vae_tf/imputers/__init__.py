"""The imputers, scikit-learn style (see base.py): NaN marks a missing entry.

KNNImputer: the thesis's K-NN (no TensorFlow). VAEImputer: the thesis's VAE fill-in
algorithm. MIWAEImputer: a VAE trained on the observed entries only, imputing by
importance sampling. RatingVAE: rating prediction for a users x items matrix.
SeedEnsemble: a trained imputer from several seeds, its fills averaged.
The VAE, MIWAE and rating imputers train through the engine (vae_tf/engine.py) and load
TensorFlow.
"""

import importlib

_WHERE = {"KNNImputer": "vae_tf.imputers.knn", "VAEImputer": "vae_tf.imputers.vae",
          "MIWAEImputer": "vae_tf.imputers.miwae", "RatingVAE": "vae_tf.imputers.ratings",
          "SeedEnsemble": "vae_tf.imputers.ensemble"}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'vae_tf.imputers' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_WHERE))


__all__ = sorted(_WHERE)
