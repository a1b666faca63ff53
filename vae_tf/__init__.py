"""vae_tf: the thesis "Variational Autoencoders & Applications" in TensorFlow 2 / Keras 3.

The imputers (`KNNImputer`, `VAEImputer`, `MIWAEImputer`, `RatingVAE`, `SeedEnsemble`) and
`load_model` load on first use, so importing the package stays light (TensorFlow loads with the VAE).
"""

from vae_tf.imputers.registry import classes as _imputer_classes
from vae_tf.lazy import lazy_attributes

__version__ = "1.0.0"

_LAZY = {**_imputer_classes(), "load_model": "vae_tf.model_file"}
__getattr__, __dir__ = lazy_attributes("vae_tf", _LAZY, globals())
__all__ = sorted(_LAZY)
