"""MIWAE's single imputation, compiled: E[x_mis | x_obs] by self-normalised importance sampling.

For a row with holes, L draws z_l ~ q(z | x_obs) get the weights w_l = softmax over l of
log p(x_obs | z_l) + log p(z_l) - log q(z_l | x_obs) (`MaskedBound.log_weights`), and
the holes get sum_l w_l E[x | z_l] (sigmoid(decoder(z_l)) for the Bernoulli). `ImportanceStep` is that computation as one
tf.function per fitted model and L, with the input signature [None, D]: traced once,
whatever the number of rows a call gets. Rows without holes are returned as they are and
take no draws. A call decodes L x rows draws; `rows_per_call` keeps that near
DRAWS_PER_CALL: here conv.py's decoder takes the same CPU time per draw from 128 to 1,024
draws a call and a fifth more at 5,000, while the MLP's per-call overhead shows below
about 1,000 (benchmarks/miwae_transform.py times the decoder by draws per call).

`resample` draws multiple imputations from the eager weights and means (sampling
importance resampling, for `MIWAEImputer.multiple_imputation`). `eager_transform` is the
compiled estimator's reference: the same computation run eagerly on every row, in the
imputer's memory-bounded chunks (`MIWAEImputer._chunk`), the [L, B, D] weights and means as
tensors; the tests and benchmarks/miwae_transform.py compare the compiled path with it.
"""

import numpy as np
import tensorflow as tf

DRAWS_PER_CALL = 1024  # L x rows decoded per compiled call (at least one row per call)


def rows_per_call(samples: int, memory_rows: int) -> int:
    """Rows per call: DRAWS_PER_CALL // L, at least 1, at most the memory bound."""
    return int(max(1, min(memory_rows, DRAWS_PER_CALL // samples)))


class ImportanceStep:
    """E[x | x_obs] of rows x0 [B, D] (0 in the holes) and their mask, as one tf.function;
    `decoder` (default: the bound's) decodes the draws: MIWAEImputer passes a bfloat16
    copy for impute_dtype="bfloat16"; the weights and means stay float32."""

    def __init__(self, bound, rng: tf.random.Generator, samples: int, width: int,
                 decoder=None):
        self.bound, self.rng, self.samples, self.decoder = bound, rng, samples, decoder
        spec = tf.TensorSpec([None, width], tf.float32)
        self.function = tf.function(self._means, input_signature=[spec, spec])

    def _means(self, x0, mask):
        out, z, z_mean, z_log_var = self.bound.draws(x0, mask, self.samples, rng=self.rng,
                                                     decoder=self.decoder)
        log_w = self.bound.log_weights(x0, mask, out, z, z_mean, z_log_var)  # [L, B]
        return tf.einsum("lb,lbd->bd", tf.nn.softmax(log_w, axis=0), self.bound.mean(out))

    def traces(self) -> int:
        """How many times the function was traced (1 after any number of calls)."""
        return self.function.experimental_get_tracing_count()

    def impute(self, x: np.ndarray, mask: np.ndarray, rows: int) -> np.ndarray:
        """x [N, D] with its holes (mask False) filled, `rows` rows with holes per call."""
        out = np.where(mask, x, 0).astype(np.float32)
        holed = np.flatnonzero(~mask.all(axis=1))
        for s in range(0, len(holed), rows):
            pick = holed[s:s + rows]
            guess = self.function(tf.constant(out[pick]),
                                  tf.constant(mask[pick], tf.float32)).numpy()
            out[pick] = np.where(mask[pick], out[pick], guess)
        return out


def resample(w: np.ndarray, means: np.ndarray, m: int, rng: np.random.Generator,
             draw: str) -> np.ndarray:
    """m imputations [m, B, D] of B rows by sampling importance resampling.

    Each picks one draw l per row with probability w_l (w [L, B]) and takes its decoder
    mean (means [L, B, D], `draw="mean"`) or a Bernoulli draw from it (`draw="sample"`).
    """
    cum, cols = np.cumsum(w, axis=0), np.arange(w.shape[1])
    out = np.empty((m,) + means.shape[1:], np.float32)
    for j in range(m):
        pick = np.minimum((cum < rng.random(w.shape[1])[None, :]).sum(0), len(w) - 1)
        guess = means[pick, cols]  # [B, D]
        out[j] = (rng.random(guess.shape) < guess) if draw == "sample" else guess
    return out


def eager_transform(imputer, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The reference: every row, eagerly, in the imputer's chunks of `_chunk(D)` rows."""
    out = np.empty_like(x)
    chunk = imputer._chunk(x.shape[1])
    for s in range(0, len(x), chunk):
        rows = slice(s, s + chunk)
        w, means = imputer._weights_and_means(x[rows], mask[rows], numpy=False)
        guess = tf.einsum("lb,lbd->bd", w, means).numpy()
        out[rows] = np.where(mask[rows], x[rows], guess)
    return out
