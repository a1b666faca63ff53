"""Standard normal latent noise eps for importance sampling, by scheme (miwae_draws.py).

Every scheme gives each row its own randomisation and every single eps is N(0, 1), so
z = mean + exp(log_var / 2) * eps is marginally a draw of q(z | x); they differ in how
the L draws of a row are spread jointly:

- mc: independent draws;
- antithetic: L / 2 independent draws and their negations (the first L for an odd L);
- lhs: a Latin hypercube per row: each dimension's L values fall one in each of L
  equal-probability strata, in a random order;
- rqmc: a scrambled Sobol' point set per row (scipy's linear matrix scramble and digital
  shift); for an L that is not a power of 2, the first L points (no balance guarantee);
- rqmc_antithetic: L / 2 scrambled Sobol' points and their reflections u -> 1 - u.
The uniform schemes go through the normal inverse CDF.
"""

import warnings

import numpy as np

SCHEMES = ("mc", "antithetic", "lhs", "rqmc", "rqmc_antithetic")


def uniforms_to_normal(u: np.ndarray) -> np.ndarray:
    """N(0, 1) values of uniforms in [0, 1], kept off 0 and 1 (the inverse CDF's poles)."""
    from scipy.special import ndtri
    tiny = np.finfo(np.float64).eps
    return ndtri(np.clip(u, tiny, 1 - tiny))


def scheme_eps(scheme: str, samples: int, rows: int, dim: int,
               rng: np.random.Generator) -> np.ndarray:
    """eps [L, rows, dim] of `scheme` (one of SCHEMES), from `rng`; float32."""
    from scipy.stats import qmc
    if scheme not in SCHEMES:
        raise ValueError(f"scheme {scheme!r} is not one of {', '.join(SCHEMES)}")
    if scheme == "mc":
        return rng.standard_normal((samples, rows, dim), np.float32)
    half = (samples + 1) // 2
    if scheme == "antithetic":
        draws = rng.standard_normal((half, rows, dim), np.float32)
        return np.concatenate([draws, -draws])[:samples]
    out = np.empty((samples, rows, dim))
    for b in range(rows):
        if scheme == "lhs":
            u = qmc.LatinHypercube(dim, seed=rng).random(samples)
        else:
            with warnings.catch_warnings():  # not a power of 2: the first points, as said
                warnings.simplefilter("ignore", UserWarning)
                u = qmc.Sobol(dim, scramble=True, seed=rng).random(
                    samples if scheme == "rqmc" else half)
            if scheme == "rqmc_antithetic":
                u = np.concatenate([u, 1 - u])[:samples]
        out[:, b] = uniforms_to_normal(u)
    return out.astype(np.float32)
