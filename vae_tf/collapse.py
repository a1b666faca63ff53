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
"""

from typing import Dict, Optional

import numpy as np

COLLAPSED_KL = 1.0  # nats: below it the posterior carries (almost) nothing about the image
UNIT_KL = 0.1  # nats: a latent unit is in use when its mean KL over the images exceeds this
FEW_UNITS_SHARE = 20  # at most one unit in this many in use: (almost) no unit is in use
SAME_RECONSTRUCTIONS = 0.25  # reconstructions' spread over the images / the data's
ADVICE = ("try the default preset (drop --preset=thesis), more steps (a larger --epochs) "
          "or --init=thesis_pytorch")


def kl_per_unit(vae, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Mean KL(q(z_j | x) || N(0, 1)) over the rows of x, per latent unit j. [L]"""
    total = None
    for start in range(0, len(x), batch_size):
        mu, log_var = (np.asarray(t, np.float64) for t in vae.encode(x[start:start + batch_size]))
        part = np.sum(0.5 * (mu ** 2 + np.exp(log_var) - 1.0 - log_var), axis=0)
        total = part if total is None else total + part
    return total / max(len(x), 1)


def latent_units_in_use(vae, x: np.ndarray) -> int:
    """Latent units of `vae` whose KL, averaged over the rows of x, exceeds UNIT_KL."""
    return int(np.sum(kl_per_unit(vae, x) > UNIT_KL))


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
        return f"collapsed (test KL {test_kl:.2f} < {COLLAPSED_KL:g} nat)"
    if units is not None and latent_units and units <= few_units(latent_units):
        return f"collapsed ({units} of {latent_units} latent units in use)"
    if spread < SAME_RECONSTRUCTIONS:
        return (f"collapsed (reconstructions nearly identical: spread {spread:.2f} of the "
                f"data's < {SAME_RECONSTRUCTIONS:g})")
    return ""


def diagnose(vae, x: np.ndarray, kl: float,
             recon: Optional[np.ndarray] = None) -> Dict[str, object]:
    """The collapse figures of `vae` on held-out images x whose mean KL is `kl`."""
    units = latent_units_in_use(vae, x)
    spread = reconstruction_spread(vae, x, recon)
    flag = collapse_flag(kl, spread, units, int(vae.latent_dim))
    return {"test_kl": float(kl), "latent_units_in_use": units,
            "latent_units": int(vae.latent_dim), "reconstruction_spread": spread,
            "collapsed": bool(flag), "collapse": flag}


def warning_line(diagnosis: Dict[str, object]) -> str:
    """The one line a collapsed (or badly undertrained) run ends with."""
    return (f"the model collapsed: its reconstructions barely follow the input (test KL "
            f"{diagnosis['test_kl']:.2f} nats, {diagnosis['latent_units_in_use']} of "
            f"{diagnosis['latent_units']} latent units in use, reconstruction spread "
            f"{diagnosis['reconstruction_spread']:.2f} of the data's); {ADVICE}")
