"""Posterior-collapse diagnostics: is a trained VAE using its latent space?

A collapsed VAE's encoder says (almost) nothing about its input: q(z | x) is the prior
for every x, the KL term is near zero, and the decoder draws one average image whatever
it is given. Three signs, each cheap to compute on held-out images:
- the mean KL(q(z | x) || p(z)) under COLLAPSED_KL nats;
- the latent units in use (mean KL of the unit over the images above UNIT_KL) at most one
  in twenty (`few_units`): a few units carry a stroke's position or thickness, not a
  letter (the thesis preset on OMNIGLOT Latin keeps 3 of 64, test KL 2.3 nats, and gives
  a "K" back for a "d"; the default preset keeps about 20 nats);
- reconstructions that barely differ from image to image (`reconstruction_spread`
  under SAME_RECONSTRUCTIONS of the data's own spread), whatever the KL.
`diagnose` gives them for the launcher's VAE; `latent_diagnosis` for any model the
experiments train (a VAE, the thesis's VAEImputer, MIWAEImputer, RatingVAE).
"""

from typing import Dict, Optional

import numpy as np

COLLAPSED_KL = 1.0  # nats: below it the posterior carries (almost) nothing about the image
UNIT_KL = 0.1  # nats: a latent unit is in use when its mean KL over the images exceeds this
FEW_UNITS_SHARE = 20  # at most one unit in this many in use: (almost) no unit is in use
SAME_RECONSTRUCTIONS = 0.25  # reconstructions' spread over the images / the data's
ADVICE = ("try the default preset (drop --preset=thesis), more steps (a larger --epochs) "
          "or --init=thesis_pytorch")


def _kl_sum(z_mean, z_log_var) -> np.ndarray:
    """KL(q(z_j | x) || N(0, 1)) summed over the rows, per latent unit j: [N, L] each -> [L]."""
    mu, log_var = (np.asarray(t, np.float64) for t in (z_mean, z_log_var))
    return np.sum(0.5 * (mu ** 2 + np.exp(log_var) - 1.0 - log_var), axis=0)


def kl_per_unit(vae, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Mean KL(q(z_j | x) || N(0, 1)) over the rows of x, per latent unit j. [L]"""
    total = None
    for start in range(0, len(x), batch_size):
        part = _kl_sum(*vae.encode(x[start:start + batch_size]))
        total = part if total is None else total + part
    return total / max(len(x), 1)


def _in_use(per_unit: np.ndarray) -> int:
    return int(np.sum(per_unit > UNIT_KL))


def latent_units_in_use(vae, x: np.ndarray) -> int:
    """Latent units of `vae` whose KL, averaged over the rows of x, exceeds UNIT_KL."""
    return _in_use(kl_per_unit(vae, x))


def reconstruction_spread(vae, x: np.ndarray, recon: Optional[np.ndarray] = None) -> float:
    """How much the reconstructions differ from image to image: the per-pixel standard
    deviation over the rows of x, averaged over pixels, over the same for x itself
    (1: as varied as the data; near 0: one image for every input). `recon`: vae's
    reconstructions of x when the caller has them already."""
    if recon is None:
        from vae_tf.evaluation import reconstruct
        recon = reconstruct(vae, x)
    return float(np.mean(np.std(recon, axis=0)) / max(np.mean(np.std(x, axis=0)), 1e-12))


def few_units(latent_units: int) -> int:
    """The most units in use that still count as (almost) none: one in FEW_UNITS_SHARE."""
    return latent_units // FEW_UNITS_SHARE


def collapse_flag(test_kl: float, spread: float = 1.0, units: Optional[int] = None,
                  latent_units: Optional[int] = None) -> str:
    """What is wrong in a few words ("" when the model uses its latent space)."""
    if test_kl < COLLAPSED_KL:
        return f"collapsed (KL {test_kl:.2f} < {COLLAPSED_KL:g} nat)"  # test or validation rows
    if units is not None and latent_units and units <= few_units(latent_units):
        return f"collapsed ({units} of {latent_units} latent units in use)"
    if spread < SAME_RECONSTRUCTIONS:
        return (f"collapsed (reconstructions nearly identical: spread {spread:.2f} of the "
                f"data's < {SAME_RECONSTRUCTIONS:g})")
    return ""


def _figures(kl: float, units: int, latent_units: int,
             spread: Optional[float]) -> Dict[str, object]:
    flag = collapse_flag(kl, 1.0 if spread is None else spread, units, latent_units)
    return {"test_kl": float(kl), "latent_units_in_use": int(units),
            "latent_units": int(latent_units), "reconstruction_spread": spread,
            "collapsed": bool(flag), "collapse": flag}


def diagnose(vae, x: np.ndarray, kl: float,
             recon: Optional[np.ndarray] = None) -> Dict[str, object]:
    """The collapse figures of `vae` on held-out images x whose mean KL is `kl`."""
    return _figures(kl, latent_units_in_use(vae, x), int(vae.latent_dim),
                    reconstruction_spread(vae, x, recon))


def latent_diagnosis(model, x, batch_size: int = 1000) -> Dict[str, object]:
    """The collapse figures of a trained model on held-out rows x, as `diagnose`'s:
    "test_kl" (the mean KL(q(z | x) || p(z)) in nats over the rows of x, whichever held-out
    rows they are), the latent units in use, the reconstruction spread and the flag.

    What x holds, per kind of model:
    - a VAE (models.VAE): rows in [0, 1] as it reads them; the spread is checked.
    - a fitted VAEImputer: complete rows as its `vae_` reads them (its `transform` of
      held-out holed rows, or its `filled_`); the spread of `vae_`'s reconstructions of
      them is checked.
    - a fitted MIWAEImputer: rows with NaN holes; q(z | x_obs, mask) is
      `MIWAEImputer.posterior`. KL and units only ("reconstruction_spread" None): its
      encoder reads the observed entries alone, so there is no complete input for a
      reconstruction to be compared with.
    - a fitted RatingVAE: the [users, items] ratings it predicts from (NaN unrated); q(z |
      item) of each item (`RatingVAE.posterior`), so the mean is over the items. KL and
      units only: an item's row is mostly unrated, nothing to compare a spread with.
    """
    posterior = getattr(model, "posterior", None)
    if posterior is not None:  # an imputer that encodes what it observes
        z_mean, z_log_var = posterior(x)
        per_unit, spread = _kl_sum(z_mean, z_log_var) / max(len(z_mean), 1), None
    else:
        vae = getattr(model, "vae_", model)  # the thesis's VAEImputer: its fitted VAE
        per_unit = kl_per_unit(vae, x, batch_size)
        spread = reconstruction_spread(vae, x)
    return _figures(float(np.sum(per_unit)), _in_use(per_unit), per_unit.size, spread)


def warning_line(diagnosis: Dict[str, object]) -> str:
    """The one line a collapsed (or badly undertrained) run ends with."""
    return (f"the model collapsed: its reconstructions barely follow the input (test KL "
            f"{diagnosis['test_kl']:.2f} nats, {diagnosis['latent_units_in_use']} of "
            f"{diagnosis['latent_units']} latent units in use, reconstruction spread "
            f"{diagnosis['reconstruction_spread']:.2f} of the data's); {ADVICE}")
