"""vae_tf: the thesis "Variational Autoencoders & Applications" in TensorFlow 2 / Keras 3."""

__version__ = "0.1.0"
