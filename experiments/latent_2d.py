"""The 2-D latent space of a VAE on MNIST: the test digits' encodings and the decoded grid.

The figures a VAE with a two-dimensional latent space is known for: `latent.png`, the
usual scatter of the 10,000 test digits' posterior means, coloured by class, and
`manifold.png`, the decoded grid of Kingma & Welling 2014 (their figure 4 maps the grid
through the Gaussian's inverse CDF; ours is linear, 15 x 15 over [-2.5, 2.5]^2). The run
is the launcher's (default preset, --latent_dim=2), which writes both figures whenever the
latent space has two dimensions; the table gives its test -ELBO, KL and reconstruction
errors. The thesis reports no number for it.

    python experiments/latent_2d.py --quick
    python experiments/latent_2d.py --data_root=../shared/data
"""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from common import Row, output_dirs, write_table  # noqa: E402
from vae_tf.datasets import data_dir_for  # noqa: E402

flags.DEFINE_bool("quick", False, "mnist_5k, 2 epochs, into a temporary folder.")
flags.DEFINE_string("data_root", os.environ.get("VAE_TF_DATA_DIR"),
                    "Folder laid out like shared/data (default: $VAE_TF_DATA_DIR).")
flags.DEFINE_integer("epochs", 50, "Epochs of the VAE.")
flags.DEFINE_string("out_dir", None, "Where the table and figures go. (default "
                    "experiments/results; --quick: a temporary folder).")
flags.DEFINE_string("log_root", None, "Run folders (default logs/experiments; --quick: in "
                    "the temporary folder).")
flags.DEFINE_integer("seed", 0, "Seed of the run.")
flags.register_validator("epochs", lambda v: v >= 1, "--epochs must be at least 1")
FLAGS = flags.FLAGS

NAME = "latent_2d"
FIGURES = ("latent", "manifold", "reconstructions")


def main(_):
    FLAGS.out_dir, FLAGS.log_root = output_dirs(FLAGS.out_dir, FLAGS.log_root, FLAGS.quick,
                                                "experiments")
    logging.set_verbosity(logging.INFO)
    from vae_tf import datasets
    from vae_tf.config import make_config
    from vae_tf.train_run import run_train
    source = "mnist_5k" if FLAGS.quick else "mnist"
    data = datasets.load(source, data_dir_for(source, FLAGS.data_root))
    epochs = 2 if FLAGS.quick else FLAGS.epochs
    # A fixed run folder: rerunning resumes a finished or interrupted run.
    logdir = os.path.join(FLAGS.log_root, f"{NAME}-{source}")
    config = make_config("default", dataset=source, latent_dim=2, epochs=epochs,
                         seed=FLAGS.seed, logdir=logdir)
    metrics = run_train(config, data=data, verbose=0)
    label = f"{source}, default preset, latent 2"
    rows = [Row(label, "test -ELBO (nats)", metrics["test_loss"]),
            Row(label, "test KL (nats)", metrics["test_kl"]),
            Row(label, "test RMSE", metrics["reconstruction_rmse"]),
            Row(label, "test MAE", metrics["reconstruction_mae"]),
            Row(label, "training seconds", metrics["train_seconds"])]
    figures = []
    for fig in FIGURES:
        target = os.path.join(FLAGS.out_dir, NAME, f"{fig}.png")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(logdir, "figures", f"{fig}.png"), target)
        figures.append(target)
    budget = (f"{source}, {epochs} epochs, default preset (MLP 400 hidden, Adam 1e-3, batch "
              f"{config.batch_size}) with a 2-D latent space")
    notes = ["latent.png: posterior means of the test images, coloured by digit; "
             "manifold.png: sigmoid(decoder(z)) on a 15 x 15 grid of z in [-2.5, 2.5]^2 "
             "(top row z2 = 2.5); reconstructions.png: test images and their reconstructions.",
             "Two latent dimensions cost reconstruction quality: compare the default preset's "
             "32 dimensions in vae_reconstruction.md."]
    path = write_table(NAME, "A 2-D latent space on MNIST: encodings and the decoded manifold",
                       "no thesis number (the 2-D latent figures: scatter and manifold)",
                       rows, budget, FLAGS.seed, figures, notes, FLAGS.out_dir)
    print(path)


if __name__ == "__main__":
    app.run(main)
