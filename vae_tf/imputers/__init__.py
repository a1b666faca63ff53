"""The imputers, scikit-learn style (see base.py): NaN marks a missing entry.

KNNImputer: the thesis's K-NN (no TensorFlow). VAEImputer: the thesis's VAE fill-in
algorithm. MIWAEImputer: a VAE trained on the observed entries only, imputing by
importance sampling. RatingVAE: rating prediction for a users x items matrix.
SeedEnsemble: a trained imputer from several seeds, its fills averaged.
The VAE, MIWAE and rating imputers train through the engine (vae_tf/engine.py) and load
TensorFlow.
"""

from vae_tf.imputers.registry import classes
from vae_tf.lazy import lazy_attributes

_WHERE = classes()  # class name -> module, from the imputer registry (registry.py)
__getattr__, __dir__ = lazy_attributes("vae_tf.imputers", _WHERE, globals())
__all__ = sorted(_WHERE)
