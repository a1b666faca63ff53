"""experiments/thesis_numbers.json: the thesis's reported numbers, the tables' "thesis" column."""

import json
import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from experiments import common  # noqa: E402

SLIDES = "000_9430aaa2945ce697.txt"  # the thesis slides' text, beside the data (not in the repo)

USED = ([f"imputation/mnist/{m}/{k}" for m in ("1-NN", "100-NN", "VAE")
         for k in ("rmse", "mae", "seconds")]
        + [f"imputation/{d}/{m}/{k}" for d in ("omniglot_en", "omniglot_gr")
           for m in ("1-NN", "VAE") for k in ("rmse", "mae")]
        + [f"reconstruction/{d}/{k}" for d in ("mnist", "omniglot_en", "cifar10_rgb",
                                                "cifar10_gray") for k in ("rmse", "mae")]
        + ["reconstruction/omniglot_gr/rmse", "reconstruction/cifar10_rgb/bce",
           "reconstruction/cifar10_gray/bce", "movielens/matrices/rmse",
           "movielens/matrices/mae", "movielens/matrices/match_percent",
           "movielens/mean_rating/vae", "movielens/mean_rating/knn"])


def test_every_number_has_one_key_a_slide_and_a_caption():
    with open(common.THESIS_NUMBERS) as f:
        numbers = json.load(f)["numbers"]
    keys = [n["key"] for n in numbers]
    assert len(keys) == len(set(keys))
    for n in numbers:
        assert isinstance(n["value"], float) and n["slide"] and n["table"], n


def test_the_scripts_keys_resolve_to_the_slides_figures():
    values = {key: common.thesis(key) for key in USED}
    assert values["imputation/mnist/100-NN/rmse"] == 0.148223
    assert values["reconstruction/mnist/rmse"] == pytest.approx(0.171214, abs=1e-6)
    # The slide's mean-rating table: VAE 1.607, K-NN 1.611 (earlier tables had them swapped).
    assert values["movielens/mean_rating/vae"] < values["movielens/mean_rating/knn"]


def test_an_unknown_key_names_the_file():
    with pytest.raises(KeyError, match="thesis_numbers.json"):
        common.thesis("imputation/mnist/7-NN/rmse")


def _slides_text() -> str:
    """The slides' text from $VAE_TF_DATA_DIR/../thesis/; skipped only when VAE_TF_DATA_DIR
    is unset (as every real-data test): a data root without the slides beside it fails."""
    root = os.environ.get("VAE_TF_DATA_DIR")
    if not root:
        pytest.skip("VAE_TF_DATA_DIR is not set: the thesis slides' check skipped")
    path = os.path.join(root, os.pardir, "thesis", SLIDES)
    assert os.path.isfile(path), (f"VAE_TF_DATA_DIR={root} has no thesis slides beside it "
                                  f"({path}): lay the data root out like shared/")
    with open(path, encoding="utf-8") as f:
        return f.read()


def test_every_number_is_printed_on_its_slide():
    text = _slides_text()
    with open(common.THESIS_NUMBERS) as f:
        numbers = json.load(f)["numbers"]
    assert len(numbers) == 37
    starts = sorted({text.index(n["slide"]) for n in numbers})
    for n in numbers:
        assert text.count(n["slide"]) == 1, n["slide"]  # the slides are unnumbered: titles
        # As printed: the JSON keeps the slide's digits, but a float drops trailing zeros
        # (the slide's 0.161780 is 0.16178); never a part of a longer number. Searched from
        # its slide's title to the next title the file cites, not in the rest of the text.
        printed = repr(n["value"])
        token = re.compile(rf"(?<![\d.]){re.escape(printed)}0*(?!\d)")
        start = text.index(n["slide"])
        end = next((p for p in starts if p > start), len(text))
        assert token.search(text, start, end), (n["key"], printed)
