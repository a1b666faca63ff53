"""vae_tf/plots.py: image rows laid out as asked, ELBO curves with the bound's sign."""

import matplotlib.image
import numpy as np
import pytest

from vae_tf import plots

SHAPE = (28, 28, 1)
CELL_PX = 75  # image_rows' default cell (0.75 in) at 100 dpi; the gap is 0.06 in = 6 px


def _runs(line: np.ndarray) -> int:
    """The number of separate stretches of dark pixels along a line of grey levels."""
    dark = (line < 0.2).astype(int)
    return int(dark[0] + np.sum(np.diff(dark) == 1))


def _rows_png(tmp_path, n_rows, n_cols, labels=None, title="a title"):
    rows = [np.zeros((n_cols, 784), np.float32) for _ in range(n_rows)]  # black images
    labels = labels or [f"row {r}" for r in range(n_rows)]
    path = plots.image_rows(str(tmp_path / f"rows{n_rows}x{n_cols}.png"), rows, labels, SHAPE,
                            title)
    return matplotlib.image.imread(path)[..., :3].mean(axis=-1)  # [H, W] grey levels


def test_image_rows_draws_one_strip_per_row_and_one_image_per_column(tmp_path):
    img = _rows_png(tmp_path, n_rows=5, n_cols=10, labels=["original", "with holes\n(grey)",
                                                           "1-NN fill", "100-NN fill", "VAE"])
    last_column = img[:, -5 - CELL_PX // 2]  # the crop leaves a 5 px margin on the right
    assert _runs(last_column) == 5
    top_row = np.flatnonzero(last_column < 0.2)[0] + CELL_PX // 4  # above a centred label
    assert _runs(img[top_row]) == 10


def test_image_rows_size_grows_by_one_cell_per_row_and_column(tmp_path):
    small = _rows_png(tmp_path, n_rows=2, n_cols=4).shape
    tall = _rows_png(tmp_path, n_rows=5, n_cols=4).shape
    wide = _rows_png(tmp_path, n_rows=2, n_cols=10).shape
    assert abs(tall[0] - small[0] - 3 * (CELL_PX + 6)) <= 2  # tight: no margins that scale
    assert abs(wide[1] - small[1] - 6 * (CELL_PX + 6)) <= 2
    assert wide[1] < 10 * (CELL_PX + 6) + 150  # the labels take little room beside the images


def test_image_rows_keeps_the_title_and_labels_inside_the_png(tmp_path):
    with_title = _rows_png(tmp_path, n_rows=2, n_cols=4, title="a title above the images")
    no_label = plots.image_rows(str(tmp_path / "plain.png"), [np.zeros((4, 784))] * 2, ["", ""],
                                SHAPE)
    plain = matplotlib.image.imread(no_label)
    assert with_title.shape[0] > plain.shape[0] + 10  # the title adds a line on top
    assert with_title.shape[1] > plain.shape[1] + 20  # and the labels a column on the left


def test_shown_examples_picks_eligible_examples_of_distinct_labels():
    labels = np.repeat(np.arange(12), 5)  # 12 classes, 5 examples each
    eligible = np.arange(60) % 5 >= 2  # the first two of each class have no holes
    shown = plots.shown_examples(labels, eligible, n=10)
    assert len(shown) == 10 and eligible[shown].all()
    assert len(set(labels[shown])) == 10
    assert labels[shown][0] == 0 and labels[shown][-1] == 11  # spread over all the classes


def test_shown_examples_without_labels_spreads_over_the_eligible():
    shown = plots.shown_examples(None, np.arange(100) >= 50, n=5)
    np.testing.assert_array_equal(shown, [50, 62, 74, 86, 99])


HISTORY = [{"epoch": e, "train/loss": 300.0 / e, "test/loss": 320.0 / e, "train/kl": 5.0,
            "train/reconstruction": 300.0 / e - 5} for e in (1, 2, 3)]


def _lines(monkeypatch, **kwargs):
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path, crop=False: figures.append(fig))
    plots.loss_curves("unused.png", HISTORY, **kwargs)
    ax = figures[0].axes[0]
    return {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}, ax


def test_loss_curves_elbo_plots_the_bound_train_and_test(monkeypatch):
    lines, ax = _lines(monkeypatch, title="ELBO in each epoch", elbo=True)
    assert lines == {"train ELBO": [-300.0, -150.0, -100.0], "test ELBO": [-320.0, -160.0,
                                                                         -320.0 / 3]}
    assert "ELBO" in ax.get_ylabel() and "-ELBO" not in ax.get_ylabel()
    assert ax.get_title() == "ELBO in each epoch"


def test_loss_curves_default_plots_the_loss_and_its_terms(monkeypatch):
    lines, ax = _lines(monkeypatch)
    assert lines["train/loss"] == [300.0, 150.0, 100.0]
    assert set(lines) == {"train/loss", "test/loss", "train/reconstruction", "train/kl"}


@pytest.mark.parametrize("elbo", [False, True])
def test_loss_curves_writes_a_png(tmp_path, elbo):
    path = plots.loss_curves(str(tmp_path / "curves.png"), HISTORY, elbo=elbo)
    assert matplotlib.image.imread(path).shape[:2] == (400, 600)
