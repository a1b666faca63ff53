"""Whether reconstructions are recognisable as their person: 1-nearest-neighbour identity.

A 1-NN classifier is fitted on original training images and their subject labels, then
applied to three sets of query images with the same labels:
- the held-out originals (the ceiling: how well pixels alone tell the people apart),
- their reconstructions (the score of the model),
- one constant average face for every query (the floor: about one over the subjects).

Distances are between normalised pixels: each image minus its own mean grey level, divided
by its own norm, so a reconstruction that is the right face but dimmer or flatter in
contrast still finds its person (for unit vectors the Euclidean nearest neighbour is the
one of highest correlation). numpy only.
"""

from typing import Dict

import numpy as np

_CHUNK = 512  # query rows per distance block: [512, N] floats


def normalise(x: np.ndarray) -> np.ndarray:
    """Each row minus its mean, over its norm (a constant row stays 0). [N, D] -> [N, D]."""
    x = np.asarray(x, np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)


def nearest_labels(reference: np.ndarray, labels: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The label of each query's nearest reference image, by normalised pixels. -> [Q]"""
    ref, labels = normalise(reference), np.asarray(labels)
    out = np.empty(len(queries), labels.dtype)
    for start in range(0, len(queries), _CHUNK):
        q = normalise(queries[start:start + _CHUNK])
        # unit rows: |q - r|^2 = 2 - 2 q.r, so the nearest has the largest dot product
        out[start:start + len(q)] = labels[np.argmax(q @ ref.T, axis=1)]
    return out


def identity_accuracy(reference: np.ndarray, labels: np.ndarray, queries: np.ndarray,
                      query_labels: np.ndarray) -> float:
    """The share of queries whose nearest reference image is of their own person."""
    if len(queries) != len(query_labels):
        raise ValueError(f"{len(queries)} queries but {len(query_labels)} labels")
    return float(np.mean(nearest_labels(reference, labels, queries) == np.asarray(query_labels)))


def identity_scores(reference: np.ndarray, labels: np.ndarray, originals: np.ndarray,
                    reconstructions: np.ndarray, query_labels: np.ndarray) -> Dict[str, float]:
    """Identity accuracy of the reconstructions, with its ceiling and floor.

    Args:
      reference: [N, D] original images the classifier is fitted on; labels: [N] subjects.
      originals: [Q, D] held-out images; reconstructions: [Q, D] the model's of them;
      query_labels: [Q] their subjects.
    Returns:
      {"reconstructions", "originals" (ceiling), "average_face" (floor)}: accuracies.
    """
    average = np.broadcast_to(np.mean(reference, axis=0), np.shape(originals))
    return {"reconstructions": identity_accuracy(reference, labels, reconstructions,
                                                 query_labels),
            "originals": identity_accuracy(reference, labels, originals, query_labels),
            "average_face": identity_accuracy(reference, labels, average, query_labels)}
