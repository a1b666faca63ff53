"""Identity accuracy of reconstructions: 1-NN on normalised pixels, its ceiling and floor."""

import numpy as np
import pytest

from vae_tf.identity import identity_accuracy, identity_scores, nearest_labels, normalise


def _people(n_people=5, per_person=6, dim=400, seed=0):
    """Each person a fixed random face; their images that face under random brightness,
    contrast and a little noise. -> (images [N, D] in [0, 1], labels [N])."""
    rng = np.random.default_rng(seed)
    faces = rng.uniform(size=(n_people, dim))
    labels = np.repeat(np.arange(n_people), per_person)
    gain = rng.uniform(0.3, 1.0, size=(len(labels), 1))
    offset = rng.uniform(0.0, 0.3, size=(len(labels), 1))
    images = gain * faces[labels] + offset + 0.05 * rng.standard_normal((len(labels), dim))
    return np.clip(images, 0, 1).astype(np.float32), labels


def test_normalise_gives_zero_mean_unit_rows_and_leaves_a_constant_row_zero():
    x = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    n = normalise(x)
    np.testing.assert_allclose(n[0], np.array([-1.0, 0.0, 1.0]) / np.sqrt(2))
    np.testing.assert_array_equal(n[1], 0.0)


def test_nearest_labels_ignores_brightness_and_contrast():
    reference = np.array([[0.0, 0.2, 0.0, 0.2], [1.0, 0.8, 1.0, 0.8]])  # a dark, a bright
    # person 0's pattern (bright where theirs is), lit brightly: a raw Euclidean 1-NN picks
    # person 1's image
    query = np.array([[0.5, 0.9, 0.5, 0.9]])
    assert np.argmin(np.sum((reference - query) ** 2, axis=1)) == 1
    assert nearest_labels(reference, np.array([0, 1]), query).tolist() == [0]


def test_identity_scores_separate_the_person_from_the_average_face():
    x, y = _people()
    held = np.arange(len(y)) % 3 == 2
    ref, ref_y, queries, q_y = x[~held], y[~held], x[held], y[held]
    scores = identity_scores(ref, ref_y, queries, queries, q_y)
    assert scores["originals"] == 1.0  # the ceiling
    # one face for every query: one person's share of the queries (2 of 10 each here)
    assert scores["average_face"] == pytest.approx(0.2)
    # reconstructions that are the average face plus a trace of the person are still found
    blurred = 0.9 * ref.mean(axis=0) + 0.1 * queries
    assert identity_scores(ref, ref_y, queries, blurred, q_y)["reconstructions"] == 1.0
    # ... the wrong person's image is not
    wrong = x[held][np.roll(np.arange(held.sum()), 2)]  # two queries on: another person
    assert identity_accuracy(ref, ref_y, wrong, q_y) == 0.0


def test_identity_accuracy_refuses_labels_that_do_not_match_the_queries():
    x, y = _people()
    with pytest.raises(ValueError, match="5 queries but 4 labels"):
        identity_accuracy(x, y, x[:5], y[:4])
