"""What the MIWAE imputation benchmarks share (miwae_transform.py, miwae_draws.py): the
flags of the fit and of the imputed images, the holed images, and the fit of the default
conv imputer.

The model is fitted for `--epochs` on the first `--n_train` MNIST training images with
structured (half-image) holes and imputes `--n_valid` validation images with structured
holes: MNIST's validation split (the last 5,000 images of the training file), never the
test split; with --quick mnist_5k's last training images, which the fit never sees. Hole
seeds as experiments/miwae_defaults.py's (training +4, validation +6).
"""

import time

from absl import flags

FLAGS = flags.FLAGS


def define_flags(name: str, quick_help: str) -> None:
    """The shared flags of benchmark `name` (its own come beside them)."""
    flags.DEFINE_string("data_dir", None, "Folder with the MNIST IDX files "
                        "(default: $VAE_TF_DATA_DIR/mnist).")
    flags.DEFINE_integer("n_train", 10000, "Holed training images the model is fitted on.",
                         lower_bound=1)
    flags.DEFINE_integer("epochs", 5, "Epochs of the fit.", lower_bound=1)
    flags.DEFINE_integer("n_valid", 1000, "Holed validation images imputed.", lower_bound=1)
    flags.DEFINE_integer("seed", 0, "The imputer's seed.", lower_bound=0)
    flags.DEFINE_bool("quick", False, quick_help)
    flags.DEFINE_string("out_dir", None, f"Folder for {name}.md (default "
                        "benchmarks/results; with --quick a new temporary folder).")


def data():
    """(training images with holes, validation images, their holed copy and mask)."""
    from vae_tf.datasets import load
    from vae_tf.missing import apply_mask, make_mask
    ds = load("mnist_5k") if FLAGS.quick else load("mnist", FLAGS.data_dir)
    valid = ds.train[-FLAGS.n_valid:] if FLAGS.quick else ds.validation[:FLAGS.n_valid]
    train = ds.train[:FLAGS.n_train]
    train_holed = apply_mask(train, make_mask(len(train), (28, 28, 1), "structured",
                                              FLAGS.seed + 4))
    mask = make_mask(len(valid), (28, 28, 1), "structured", FLAGS.seed + 6)
    return train_holed, valid, apply_mask(valid, mask), mask


def fitted(train_holed):
    """(MIWAEImputer(image_shape=(28, 28)) fitted on train_holed for --epochs with seed
    --seed, the fit's seconds)."""
    from vae_tf.imputers.miwae import MIWAEImputer
    imputer = MIWAEImputer(image_shape=(28, 28), epochs=FLAGS.epochs, seed=FLAGS.seed)
    t0 = time.perf_counter()
    imputer.fit(train_holed)
    return imputer, time.perf_counter() - t0
