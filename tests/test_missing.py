"""The thesis's missing-data masks."""

import numpy as np
import pytest

from vae_tf.missing import apply_mask, fill, make_mask
from vae_tf.errors import UserError


@pytest.mark.parametrize("scheme", ["structured", "random"])
def test_sixty_percent_observed_and_reproducible(scheme):
    mask = make_mask(100, (28, 28, 1), scheme, seed=3)
    assert mask.shape == (100, 784) and mask.dtype == bool
    assert mask.mean() == pytest.approx(0.6, abs=1e-12)
    assert np.sum(mask.all(1)) == 20  # the intact fifth
    np.testing.assert_array_equal(mask, make_mask(100, (28, 28, 1), scheme, seed=3))
    assert not np.array_equal(mask, make_mask(100, (28, 28, 1), scheme, seed=4))


def test_structured_halves_are_the_thesis_ones():
    mask = make_mask(5, (4, 6, 1), "structured", seed=0).reshape(5, 4, 6)
    patterns = {tuple(map(tuple, m)) for m in mask}
    lower = np.ones((4, 6), bool); lower[2:] = False  # noqa: E702
    upper = np.ones((4, 6), bool); upper[:2] = False  # noqa: E702
    left = np.ones((4, 6), bool); left[:, :3] = False  # noqa: E702
    right = np.ones((4, 6), bool); right[:, 3:] = False  # noqa: E702
    full = np.ones((4, 6), bool)
    assert patterns == {tuple(map(tuple, p)) for p in (lower, upper, left, right, full)}


def test_third_rows_variant_and_channels_share_a_pixel():
    mask = make_mask(5, (6, 4, 3), "structured", seed=0, third_rows=True).reshape(5, 6, 4, 3)
    assert any(np.array_equal(m[..., 0].all(1), [True, True, False, False, False, False])
               for m in mask)
    rand = make_mask(10, (6, 4, 3), "random", seed=1).reshape(10, 24, 3)
    assert np.array_equal(rand.all(-1), rand.any(-1))  # all channels of a pixel together
    assert np.all(np.sum(~rand[..., 0], axis=1)[~rand[..., 0].all(1)] == 12)  # half the pixels


def test_apply_mask_and_fill():
    x = np.arange(6, dtype=np.float32).reshape(2, 3) / 10
    mask = np.array([[True, False, True], [False, True, True]])
    holed = apply_mask(x, mask)
    assert np.isnan(holed[0, 1]) and holed[0, 0] == x[0, 0]
    np.testing.assert_array_equal(fill(holed), np.where(mask, x, 0.5))
    with pytest.raises(UserError, match="differ in shape"):
        apply_mask(x, mask[:, :2])


def test_bad_scheme_and_shape():
    with pytest.raises(UserError, match="choose one of: structured, random"):
        make_mask(10, (2, 2, 1), "blocks", 0)
    with pytest.raises(UserError, match="needs images"):
        make_mask(10, None, "random", 0)
