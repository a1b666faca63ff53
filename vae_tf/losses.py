r"""Loss terms of the VAE, as pure functions on tensors.

For data x with D entries, a diagonal-Gaussian encoder q(z|x) = N(mu, diag(exp(log_var)))
and a standard-normal prior p(z) = N(0, I), the evidence lower bound is

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)).

The expectation is estimated with one reparameterized draw z = mu + exp(log_var/2) * eps,
eps ~ N(0, I). The KL term is analytic, per latent dimension j:

    KL_j = 0.5 * (exp(log_var_j) + mu_j^2 - 1 - log_var_j),

so KL = 0 exactly when mu = 0 and log_var = 0, and for mu = 1, log_var = 1 it is
(e - 1) / 2 = 0.859 per dimension. With a Bernoulli decoder whose logits are `l`, the
log-likelihood of x in [0, 1] is -sum_d sigmoid_cross_entropy(x_d, l_d); for grey levels
this is the continuous relaxation the thesis uses (not normalised, but the same
objective). The training loss is the negative ELBO in nats per example,

    loss = reconstruction + kl,   reconstruction = -log p(x|z).

Other likelihoods for grey levels (`LIKELIHOODS`), all driven by the same decoder
output `logits`:

- `bernoulli`: the thesis's; the image is the Bernoulli mean sigmoid(logits).
- `cbernoulli`: the continuous Bernoulli (Loaiza-Ganem & Cunningham 2019), a proper
  density on [0, 1]: the Bernoulli term plus log C(logits), with the normaliser
  C = logits / tanh(logits / 2) (-> 2 at logits = 0); its mean is
  1 / (1 - exp(-logits)) - 1 / logits (-> 1/2), not sigmoid(logits).
- `gaussian`: N(x; sigmoid(logits), sigma^2) per entry, sigma fixed or learned per
  entry (`log_scale`).

Every function returns one value per example ([B]); averaging happens in the step.
"""

import math
from typing import Dict, Optional

import tensorflow as tf

from vae_tf.config import LIKELIHOODS  # noqa: F401  (one list of names)
_SMALL = 1e-3  # |logits| below this: the continuous Bernoulli's Taylor expansions


def gaussian_kl(z_mean: tf.Tensor, z_log_var: tf.Tensor) -> tf.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) summed over latent dims. [B, L] -> [B]."""
    per_dim = 0.5 * (tf.exp(z_log_var) + tf.square(z_mean) - 1.0 - z_log_var)
    return tf.reduce_sum(per_dim, axis=-1)


def bernoulli_log_likelihood(x: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """log p(x | logits) under independent Bernoullis, summed over entries. [B, D] -> [B]."""
    xent = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
    return -tf.reduce_sum(xent, axis=-1)


def continuous_bernoulli_log_norm(logits: tf.Tensor) -> tf.Tensor:
    """log C(logits) = log(logits / tanh(logits / 2)) entrywise, stable near 0 (log 2)."""
    small = tf.abs(logits) < _SMALL
    safe = tf.where(small, tf.ones_like(logits), logits)
    exact = tf.math.log(safe / tf.math.tanh(safe / 2.0))
    return tf.where(small, tf.math.log(2.0 + tf.square(logits) / 6.0), exact)


def continuous_bernoulli_mean(logits: tf.Tensor) -> tf.Tensor:
    """E[x] under the continuous Bernoulli: 1 / (1 - exp(-l)) - 1 / l.

    Computed for a = |l| (the mean at -l is 1 minus the mean at l), where exp(-a) cannot
    overflow; below a = 0.1, where the two terms cancel, by its series
    1/2 + a/12 - a^3/720 (the next term, a^5/30240, is below 1e-9 there).
    """
    a = tf.abs(logits)
    small = a < 0.1
    safe = tf.where(small, tf.ones_like(a), a)
    upper = tf.where(small, 0.5 + a / 12.0 - a ** 3 / 720.0,
                     -1.0 / tf.math.expm1(-safe) - 1.0 / safe)  # the mean at +|l|
    return tf.where(logits >= 0, upper, 1.0 - upper)


def gaussian_log_likelihood(x: tf.Tensor, mean: tf.Tensor, log_scale: tf.Tensor) -> tf.Tensor:
    """log N(x; mean, exp(log_scale)^2) summed over entries. [B, D] -> [B]."""
    z = (x - mean) * tf.exp(-log_scale)
    return -tf.reduce_sum(0.5 * tf.square(z) + log_scale + 0.5 * math.log(2 * math.pi), axis=-1)


def log_likelihood(x: tf.Tensor, logits: tf.Tensor, likelihood: str = "bernoulli",
                   log_scale: Optional[tf.Tensor] = None) -> tf.Tensor:
    """log p(x | z) for the decoder output `logits` under one of `LIKELIHOODS`. -> [B].

    `log_scale` (the Gaussian's log standard deviation, a scalar or [D]) is needed by
    `gaussian` only.
    """
    if likelihood == "bernoulli":
        return bernoulli_log_likelihood(x, logits)
    if likelihood == "cbernoulli":
        return (bernoulli_log_likelihood(x, logits)
                + tf.reduce_sum(continuous_bernoulli_log_norm(logits), axis=-1))
    if likelihood == "gaussian":
        return gaussian_log_likelihood(x, tf.sigmoid(logits), log_scale)
    raise ValueError(f"unknown likelihood {likelihood!r}; choose one of {LIKELIHOODS}")


def decoded_mean(logits: tf.Tensor, likelihood: str = "bernoulli") -> tf.Tensor:
    """The mean of p(x | z): the image a decoder output stands for."""
    if likelihood == "cbernoulli":
        return continuous_bernoulli_mean(logits)
    return tf.sigmoid(logits)


def elbo_terms(x: tf.Tensor, logits: tf.Tensor, z_mean: tf.Tensor, z_log_var: tf.Tensor,
               likelihood: str = "bernoulli",
               log_scale: Optional[tf.Tensor] = None) -> Dict[str, tf.Tensor]:
    """Named per-example terms: `reconstruction` (-log p(x|z)), `kl`, `loss` (-ELBO)."""
    reconstruction = -log_likelihood(x, logits, likelihood, log_scale)
    kl = gaussian_kl(z_mean, z_log_var)
    return {"reconstruction": reconstruction, "kl": kl, "loss": reconstruction + kl}


def log_normal(z: tf.Tensor, mean: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """log N(z; mean, diag(exp(log_var))) summed over the last axis. [..., L] -> [...]."""
    const = tf.math.log(tf.constant(2.0 * math.pi, z.dtype))
    return -0.5 * tf.reduce_sum(
        const + log_var + tf.square(z - mean) * tf.exp(-log_var), axis=-1)


def log_prior(z: tf.Tensor) -> tf.Tensor:
    """log p(z) under the standard-normal prior, summed over the last axis. [..., L] -> [...]."""
    return log_normal(z, tf.zeros_like(z), tf.zeros_like(z))


def log_weights(log_px: tf.Tensor, z: tf.Tensor, z_mean: tf.Tensor,
                z_log_var: tf.Tensor) -> tf.Tensor:
    """The importance weights, log w = log p(x|z) + log p(z) - log q(z|x), from log p(x|z)
    [K, B] of the draws z [K, B, L] ~ q(z|x) = N(z_mean, diag(exp(z_log_var))). The one
    place the formula is written: the IWAE bound, MIWAE's masked bound and imputation
    weights and the log-likelihood estimate all take their weights from here."""
    return log_px + log_prior(z) - log_normal(z, z_mean, z_log_var)


def log_importance_weights(x: tf.Tensor, logits: tf.Tensor, z: tf.Tensor, z_mean: tf.Tensor,
                           z_log_var: tf.Tensor, likelihood: str = "bernoulli",
                           log_scale: Optional[tf.Tensor] = None) -> tf.Tensor:
    """log w = log p(x|z) + log p(z) - log q(z|x) for draws z ~ q. [S, B, *] -> [S, B]."""
    return log_weights(log_likelihood(tf.broadcast_to(x, tf.shape(logits)), logits,
                                      likelihood, log_scale), z, z_mean, z_log_var)


def iwae_bound(log_weights: tf.Tensor) -> tf.Tensor:
    """The importance-weighted bound log (1/S) sum_s w_s (Burda et al. 2015). [S, B] -> [B].

    With S = 1 it is the single-sample ELBO; it increases towards log p(x) as S grows.
    """
    s = tf.cast(tf.shape(log_weights)[0], log_weights.dtype)
    return tf.reduce_logsumexp(log_weights, axis=0) - tf.math.log(s)


def masked_bound(x: tf.Tensor, mask: tf.Tensor, logits: tf.Tensor, z: tf.Tensor,
                 z_mean: tf.Tensor, z_log_var: tf.Tensor) -> Dict[str, tf.Tensor]:
    """The MIWAE bound on the observed entries only (Mattei & Frellsen 2019).

    x, mask [B, D] (mask 1 = observed); logits [K, B, D] and z [K, B, L] for K draws of
    q(z | x_obs). With K = 1 it is the masked ELBO with the analytic KL (so on fully
    observed data it equals `elbo_terms`); with K > 1 it is the importance-weighted bound
    log (1/K) sum_k p(x_obs|z_k) p(z_k) / q(z_k|x_obs), which is at least the ELBO in
    expectation. Returns per-example `bound` [B] and `log_weights` [K, B].
    """
    xent = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.broadcast_to(x, tf.shape(logits)), logits=logits)
    log_px = -tf.reduce_sum(xent * mask, axis=-1)  # [K, B]
    log_w = log_weights(log_px, z, z_mean, z_log_var)
    if z.shape[0] == 1:
        return {"bound": log_px[0] - gaussian_kl(z_mean, z_log_var), "log_weights": log_w}
    return {"bound": iwae_bound(log_w), "log_weights": log_w}


def masked_log_weights(x0: tf.Tensor, mask: tf.Tensor, logits: tf.Tensor, z: tf.Tensor,
                       z_mean: tf.Tensor, z_log_var: tf.Tensor) -> tf.Tensor:
    """`masked_bound`'s log weights [K, B], for x0 [B, D] with 0 in its holes.

    The same sum over observed entries of -sigmoid_cross_entropy(x, l) = x l - softplus(l),
    written as x0 . l - mask . softplus(l) per draw: x0 is never broadcast to [K, B, D].
    """
    log_px = (tf.einsum("bd,kbd->kb", x0, logits)
              - tf.einsum("bd,kbd->kb", mask, tf.nn.softplus(logits)))
    return log_weights(log_px, z, z_mean, z_log_var)


def iwae_terms(x: tf.Tensor, logits: tf.Tensor, z: tf.Tensor, z_mean: tf.Tensor,
               z_log_var: tf.Tensor, likelihood: str = "bernoulli",
               log_scale: Optional[tf.Tensor] = None) -> Dict[str, tf.Tensor]:
    r"""Named per-example terms of the importance-weighted bound with K draws.

    x [B, D]; logits [K, B, D] and z [K, B, L] for K draws z_k ~ q(z|x) =
    N(z_mean, diag(exp(z_log_var))). With w_k = p(x|z_k) p(z_k) / q(z_k|x) (Burda et al. 2015):

        loss           = -log (1/K) sum_k w_k                   (the -IWAE bound)
        reconstruction = (1/K) sum_k -log p(x|z_k)
        kl             = (1/K) sum_k [log q(z_k|x) - log p(z_k)]  (a Monte Carlo KL)

    so reconstruction + kl = -(1/K) sum_k log w_k, the K draws' average -ELBO, and
    loss <= reconstruction + kl for every example (Jensen: log of a mean >= mean of logs).
    Each term is [B].
    """
    log_px_z = log_likelihood(tf.broadcast_to(x, tf.shape(logits)), logits, likelihood,
                              log_scale)  # [K, B]
    log_w = log_weights(log_px_z, z, z_mean, z_log_var)  # [K, B]
    return {"reconstruction": -tf.reduce_mean(log_px_z, axis=0),
            "kl": tf.reduce_mean(log_normal(z, z_mean, z_log_var) - log_prior(z), axis=0),
            "loss": -iwae_bound(log_w)}
