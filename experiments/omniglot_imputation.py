"""Thesis slides "K-NN / VAE missing values on OMNIGLOT" (English = Latin, and Greek).

Thesis protocol as far as it is recorded: 1-NN imputes the test drawers' images with holes
from the training drawers' images with holes; the VAE fills in the merged train + test
images while it trains on them (the thesis merged OMNIGLOT's splits), errors over all
entries. Sound protocol beside it: errors over the missing entries of the held-out test
images, the VAE imputing them with `transform` after training on the training drawers.

Figures (the slides' "Missing Values Completion Algorithms on the OMNIGLOT English / Greek
Dataset"), one per alphabet in `<out_dir>/omniglot_imputation/`: ten test-drawer images
of different characters, the same with missing-at-random values (the slides' scheme), their
1-NN fill and the thesis VAE's fill after `--figure_epochs` epochs (the slides: epoch 100)
of training on the merged, holed splits. Their missing-entry errors join the table. Each
VAE's rows carry its KL, latent units in use and collapse flag (vae_tf/collapse.py) on
the images they score.

    python experiments/omniglot_imputation.py --quick
    python experiments/omniglot_imputation.py --data_root=../shared/data
"""

import dataclasses
import os
import sys
import time

if not __package__:  # python experiments/omniglot_imputation.py: import the package
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import flags, logging  # noqa: E402

from experiments import scaffold  # noqa: E402
from experiments.common import Row, diagnoses, kl_explained, kl_row, thesis  # noqa: E402


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(scaffold.Config):
    """omniglot_imputation's budget."""

    epochs: int  # of the VAE (whole data set as one batch, as the thesis)
    figure_epochs: int  # of the figures' VAE (the slides: epoch 100)


def get_config(quick: bool) -> Config:
    return Config(table="omniglot_imputation", stage=scaffold.Stage("thesis", True, (2, 1)),
                  epochs=5 if quick else 200, figure_epochs=5 if quick else 100)


def define_flags() -> None:
    flags.DEFINE_integer("epochs", None, "VAE epochs (whole data set as one batch, as the "
                         "thesis).", lower_bound=1)
    flags.DEFINE_integer("figure_epochs", None, "VAE epochs of the figures (the slides: epoch "
                         "100).", lower_bound=1)


# PROTOCOL.md: (RMSE, MAE) as printed; the 1-NN columns look swapped in the slide.


def thesis_pair(name: str, method: str):
    """The thesis's (RMSE, MAE) of `method` on `name` (experiments/thesis_numbers.json)."""
    return (thesis(f"imputation/{name}/{method}/rmse"), thesis(f"imputation/{name}/{method}/mae"))


def run_alphabet(c: Config, name, data, rows):
    """The structured-holes rows; the read of that test split."""
    from experiments.ledger import headline, image_split
    from vae_tf.imputers.knn import KNNImputer
    from vae_tf.metrics import mae, rmse
    from vae_tf.missing import apply_mask, make_mask
    from vae_tf.imputers.vae import VAEImputer
    shape = data.image_shape
    tr_mask = make_mask(len(data.train), shape, "structured", c.seed)
    te_mask = make_mask(len(data.test), shape, "structured", c.seed + 1)
    tr, te = apply_mask(data.train, tr_mask), apply_mask(data.test, te_mask)
    t0 = time.perf_counter()
    out = KNNImputer(1).fit(tr).transform(te)
    seconds = time.perf_counter() - t0
    anchor = thesis_pair(name, "1-NN")
    knn = (rmse(data.test, out), rmse(data.test, out, ~te_mask))
    rows += [Row(f"{name}, 1-NN", "RMSE (all entries)", knn[0], anchor[0],
                 "thesis columns look swapped"),
             Row(f"{name}, 1-NN", "MAE (all entries)", mae(data.test, out), anchor[1]),
             Row(f"{name}, 1-NN", "RMSE missing", knn[1], None, f"{seconds:.2f} s")]
    epochs = c.epochs
    merged, merged_holed = np.concatenate([data.train, data.test]), np.concatenate([tr, te])
    t0 = time.perf_counter()
    merged_model = VAEImputer(epochs=epochs, seed=c.seed)
    filled = merged_model.fit_transform(merged_holed)
    seconds = time.perf_counter() - t0
    anchor = thesis_pair(name, "VAE")
    merged_vae = rmse(merged, filled)  # the test drawers' images among those it trained on
    rows += [Row(f"{name}, VAE (thesis algorithm, merged splits)", "RMSE (all entries)",
                 merged_vae, anchor[0], f"{seconds:.0f} s"),
             Row(f"{name}, VAE (thesis algorithm, merged splits)", "MAE (all entries)",
                 mae(merged, filled), anchor[1]),
             kl_row(f"{name}, VAE (thesis algorithm, merged splits)",
                    diagnoses(merged_model, filled), "KL (nats, merged splits)")]
    vae = VAEImputer(epochs=epochs, seed=c.seed).fit(tr)
    out = vae.transform(te)
    sound = (rmse(data.test, out, ~te_mask),
             rmse(data.test, np.where(te_mask, te, np.nanmean(tr, 0)), ~te_mask))
    rows += [Row(f"{name}, VAE trained on train drawers", "RMSE missing (test drawers)",
                 sound[0]),
             kl_row(f"{name}, VAE trained on train drawers", diagnoses(vae, out),
                    "KL (nats, test drawers)"),
             Row(f"{name}, column means", "RMSE missing (test drawers)", sound[1])]
    return headline(image_split(name, "structured"), "RMSE all entries",
                    [("thesis VAE (merged splits)", merged_vae), ("1-NN", knn[0]),
                     ("1-NN, missing entries", knn[1]),
                     ("thesis VAE trained on the train drawers, missing entries", sound[0]),
                     ("column means, missing entries", sound[1])],
                    f"thesis protocol: thesis VAE {epochs} epochs on the merged holed splits "
                    "(the test drawers among its training images), 1-NN on the test drawers")


ALPHABETS = {"omniglot_en": "English", "omniglot_gr": "Greek"}


def figure(run: scaffold.Run, name, data, rows):
    """The slides' figure: random holes, 1-NN, the VAE after --figure_epochs; returns its path
    and the read of the random-holes test split."""
    from experiments.ledger import headline, image_split
    from vae_tf import plots
    from vae_tf.imputers.knn import KNNImputer
    from vae_tf.imputers.vae import VAEImputer
    from vae_tf.metrics import rmse
    from vae_tf.missing import apply_mask, fill, make_mask
    c = run.config
    tr_mask = make_mask(len(data.train), data.image_shape, "random", c.seed + 2)
    te_mask = make_mask(len(data.test), data.image_shape, "random", c.seed + 3)
    tr, te = apply_mask(data.train, tr_mask), apply_mask(data.test, te_mask)
    knn = KNNImputer(1).fit(tr).transform(te)
    epochs = c.figure_epochs
    model = VAEImputer(epochs=epochs, seed=c.seed)
    vae = model.fit_transform(np.concatenate([tr, te]))[len(tr):]  # the test drawers' fill
    label = f"{name}, random holes (figure)"
    scored = [("thesis VAE (merged splits)", rmse(data.test, vae, ~te_mask)),
              ("1-NN", rmse(data.test, knn, ~te_mask))]
    rows += [Row(f"{label}, 1-NN", "RMSE missing (test drawers)", scored[1][1]),
             Row(f"{label}, VAE epoch {epochs} (merged splits)", "RMSE missing (test drawers)",
                 scored[0][1]),
             kl_row(f"{label}, VAE epoch {epochs} (merged splits)", diagnoses(model, vae),
                    "KL (nats, test drawers)")]
    read = headline(image_split(name, "random"), "RMSE missing", scored,
                    f"the slides' figure: thesis VAE {epochs} epochs on the merged holed splits")
    shown = plots.shown_examples(data.test_labels, ~te_mask.all(axis=1))  # ten characters
    images = [data.test[shown], fill(te[shown]), knn[shown], vae[shown]]
    names = ["original data", "data with missing-at-\nrandom values (grey)", "1-NN fill",
             f"VAE fill, epoch {epochs}"]
    title = (f"Missing values completion on the OMNIGLOT {ALPHABETS[name]} dataset (test "
             "drawers)")
    return plots.image_rows(run.figure(f"{name}.png"), images, names, data.image_shape,
                            title), read


def main(run: scaffold.Run) -> None:
    logging.set_verbosity(logging.INFO)
    c, rows, notes, figures, reads = run.config, [], [], [], []
    for name in ALPHABETS:
        if run.data_dir(name) is None:
            notes.append(f"{name}: no OMNIGLOT files under --data_root; not run")
            continue
        data = run.load(name)
        reads.append(run_alphabet(c, name, data, rows))
        path, read = figure(run, name, data, rows)
        figures.append(path)
        reads.append(read)
    notes += ["Ours: 28x28 by area averaging from the 105x105 originals; the thesis used "
              "Burda et al.'s 28x28 set, which is not available here.",
              "Structured holes (seeded) for the thesis's numbers; random holes, as the "
              "slides' pictures, for the figures; drawers 1-15 train, 16-20 test.",
              kl_explained("the images each row scores (the VAE's fill of them)")]
    budget = f"VAE {c.epochs} epochs (figures: {c.figure_epochs}), whole set as one batch"
    print(run.write_table("OMNIGLOT missing-value imputation", "the thesis's OMNIGLOT "
                          "imputation slides (English, Greek): table and figures", rows, budget,
                          figures, notes, test_reads=[r for r in reads if r]))


if __name__ == "__main__":
    scaffold.start(get_config, main, define_flags)
