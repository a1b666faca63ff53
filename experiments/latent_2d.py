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

import dataclasses
import os
import shutil
import sys

if not __package__:  # python experiments/latent_2d.py: import the package, not its files
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import flags, logging  # noqa: E402

from experiments import scaffold  # noqa: E402
from experiments.common import Row, kl_row  # noqa: E402


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(scaffold.Config):
    """latent_2d's budget."""

    epochs: int  # of the VAE


def get_config(quick: bool) -> Config:
    return Config(table="latent_2d", stage=scaffold.Stage("beyond", False, (6, 1)),
                  epochs=2 if quick else 50)


def define_flags() -> None:
    flags.DEFINE_integer("epochs", None, "Epochs of the VAE.", lower_bound=1)


FIGURES = ("latent", "manifold", "reconstructions")


def main(run: scaffold.Run) -> None:
    logging.set_verbosity(logging.INFO)
    from vae_tf.config import make_config
    from vae_tf.train_run import run_train
    c, source = run.config, run.dataset("mnist")
    data = run.load(source)
    # A fixed run folder: rerunning resumes a finished or interrupted run.
    logdir = os.path.join(run.log_root, f"{c.table}-{source}")
    config = make_config("default", dataset=source, latent_dim=2, epochs=c.epochs,
                         seed=c.seed, logdir=logdir)
    metrics = run_train(config, data=data, verbose=0)
    label = f"{source}, default preset, latent 2"
    rows = [Row(label, "test -ELBO (nats)", metrics["test_loss"]),
            kl_row(label, metrics),
            Row(label, "test RMSE", metrics["reconstruction_rmse"]),
            Row(label, "test MAE", metrics["reconstruction_mae"]),
            Row(label, "training seconds", metrics["train_seconds"])]
    figures = []
    for fig in FIGURES:
        target = run.figure(f"{fig}.png")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(logdir, "figures", f"{fig}.png"), target)
        figures.append(target)
    budget = (f"{source}, {c.epochs} epochs, default preset (MLP 400 hidden, Adam 1e-3, batch "
              f"{config.batch_size}) with a 2-D latent space")
    notes = ["latent.png: posterior means of the test images, coloured by digit; "
             "manifold.png: sigmoid(decoder(z)) on a 15 x 15 grid of z in [-2.5, 2.5]^2 "
             "(top row z2 = 2.5); reconstructions.png: test images and their reconstructions.",
             "Two latent dimensions cost reconstruction quality: compare the default preset's "
             "32 dimensions in vae_reconstruction.md."]
    from experiments.ledger import image_split
    read = (image_split(source), f"default preset, latent 2, {c.epochs} epochs", "test RMSE",
            metrics["reconstruction_rmse"])
    print(run.write_table("A 2-D latent space on MNIST: encodings and the decoded manifold",
                          "no thesis number (the 2-D latent figures: scatter and manifold)",
                          rows, budget, figures, notes, test_reads=[read]))


if __name__ == "__main__":
    scaffold.start(get_config, main, define_flags, logs="experiments")
