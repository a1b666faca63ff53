"""SeedEnsemble: one imputer trained from several seeds, its fills averaged.

The imputers that train (MIWAEImputer, VAEImputer) end in a different model from each
seed; the mean of their imputations has a lower error than a typical member's (the
variance of the members averages out). On half-image MNIST holes three conv MIWAE seeds
averaged were 0.937x the tuned K-NN's RMSE on validation images, where each alone was
0.973-0.975x (experiments/results/miwae_vs_knn_conv.md; that script averages its seeds'
fills the same way).

    SeedEnsemble(MIWAEImputer(image_shape=(28, 28)), n_seeds=3).fit(X).transform(X_new)

Member k is a copy of `imputer` with seed `imputer.seed + k`; with a `logdir`, its own
folder `<logdir>/seed-<k>` (so a killed fit resumes member by member). Members train one
after another: the time is n_seeds fits.
"""

import inspect
import os
from typing import Optional

import numpy as np

from vae_tf.config import SEED_MAX
from vae_tf.errors import UserError
from vae_tf.imputers.base import Imputer, check_array, check_int, mean_history
from vae_tf.imputers.fit_folder import check_fit_folder
from vae_tf.settings import Integer


class SeedEnsemble(Imputer):
    """fit(X) trains `n_seeds` copies of `imputer` (seeds seed, seed+1, ...); transform(X)
    returns their imputations' mean, observed entries unchanged.

    `imputer`: an unfitted imputer with a `seed` setting (None: MIWAEImputer()). After fit:
    `imputers_` (the fitted members), `n_features_in_`, and `history_`: per epoch, the
    members' mean of each figure. `keep_empty_features` is the ensemble's own (the members
    never see a column with no observed entry).
    """

    _parameter_constraints = {"n_seeds": Integer()}

    def __init__(self, imputer: Optional[Imputer] = None, n_seeds: int = 3,
                 keep_empty_features: Optional[bool] = False):
        self.imputer, self.n_seeds = imputer, n_seeds
        self.keep_empty_features = keep_empty_features

    def get_params(self, deep: bool = True):
        """`imputer` and `n_seeds`; with `deep`, also the member's as `imputer__<name>`
        (scikit-learn's nesting, so GridSearchCV can tune the member)."""
        params = super().get_params()
        if deep and isinstance(self.imputer, Imputer):
            params.update({f"imputer__{k}": v for k, v in self.imputer.get_params().items()})
        return params

    def set_params(self, **params) -> "SeedEnsemble":
        nested = {k[len("imputer__"):]: params.pop(k) for k in list(params)
                  if k.startswith("imputer__")}
        super().set_params(**params)
        if nested:
            if not isinstance(self.imputer, Imputer):
                raise UserError(f"SeedEnsemble(imputer={self.imputer!r}) has no member to set "
                                f"{', '.join(nested)} on; pass imputer=MIWAEImputer(...)")
            self.imputer.set_params(**nested)
        return self

    def _base(self) -> Imputer:
        if self.imputer is None:
            from vae_tf.imputers.miwae import MIWAEImputer
            return MIWAEImputer()
        if not isinstance(self.imputer, Imputer):
            raise UserError(f"SeedEnsemble(imputer=...): wants an imputer object, got "
                            f"{_described(self.imputer)}; pass e.g. "
                            f"SeedEnsemble({_example(self.imputer)}, n_seeds=3)")
        params = self.imputer.get_params()
        if "seed" not in params:
            raise UserError(f"SeedEnsemble(imputer={self.imputer!r}): the imputer has no seed "
                            "to vary; pass one that trains, e.g. "
                            "SeedEnsemble(MIWAEImputer(), n_seeds=3)")
        return self.imputer

    def fit(self, X, y=None) -> "SeedEnsemble":
        """Train the members on X [N, D] (NaN = missing), one after another; returns self."""
        self._validate_params()
        n = int(self.n_seeds)
        base = self._base()
        params = base.get_params()
        # Checked before any member trains: a late refusal would waste whole fits.
        check_int(type(base).__name__, "seed", params["seed"], low=0, high=SEED_MAX - n + 1,
                  example=0)
        if params.get("warm_start"):
            raise UserError(f"SeedEnsemble(imputer={type(base).__name__}(warm_start=True)): "
                            "each member starts afresh from its own seed; set warm_start=False")
        x, observed = check_array(X, "X")  # a bad X fails before any member trains
        if params.get("logdir"):  # the members' folders go inside it
            check_fit_folder(params["logdir"])
        for stale in ("imputers_", "n_features_in_", "history_", "filled_"):
            self.__dict__.pop(stale, None)
        members = []
        for k in range(n):
            own = dict(params, seed=params["seed"] + k)
            if params.get("logdir"):
                own["logdir"] = os.path.join(params["logdir"], f"seed-{k}")
            if params.get("verbose"):  # the members' epoch lines follow this one
                print(f"SeedEnsemble: model {k + 1}/{n} (seed {own['seed']})", flush=True)
            members.append(type(base)(**own).fit(X))
        self.imputers_ = members
        self.n_features_in_ = members[0].n_features_in_
        histories = [getattr(m, "history_", None) for m in members]
        if all(histories) and len({len(h) for h in histories}) == 1:
            self.history_ = mean_history(histories)
        filled = [getattr(m, "filled_", None) for m in members]
        if all(f is not None for f in filled):  # the thesis's VAE: its fill of X itself
            self.filled_ = np.where(observed, x, _mean(filled)).astype(np.float32)
        return self

    def fit_transform(self, X, y=None) -> np.ndarray:
        """fit(X), then X filled: the members' own fills of X where they make one (the thesis's
        VAEImputer, as its fit_transform), else transform(X)."""
        self.fit(X)
        return self.filled_ if hasattr(self, "filled_") else self.transform(X)

    def transform(self, X) -> np.ndarray:
        """X [N, D] with every NaN replaced by the members' mean imputation (for a
        categorical column of MIWAE's column models, the code most members chose; a tie
        goes to the lowest code)."""
        self._check_fitted()
        x, observed = check_array(X, "X")
        self._check_width(x)
        columns = getattr(self.imputers_[0], "_columns", None)
        codes = [] if columns is None else list(columns.cat_cols)
        if not codes:
            mean = _mean(m.transform(X) for m in self.imputers_)
            return np.where(observed, x, mean).astype(np.float32)
        outs = [m.transform(X) for m in self.imputers_]
        mean = _mean(outs)
        for j in codes:
            votes = np.stack([o[:, j] for o in outs])  # [members, N]
            values = np.unique(votes)
            counts = (votes[None] == values[:, None, None]).sum(1)  # [values, N]
            mean[:, j] = values[np.argmax(counts, axis=0)]
        return np.where(observed, x, mean).astype(np.float32)


def _described(given) -> str:
    """What was passed instead of an imputer: the string 'vae', the class X, an object of type Y."""
    if isinstance(given, str):
        return f"the string {given!r}"
    if isinstance(given, type):
        return f"the class {given.__name__}"
    return f"an object of type {type(given).__name__}"


def _example(given) -> str:
    """The imputer object meant: an instance of the class given, or the trained imputer a
    registry name (e.g. 'vae') stands for; MIWAEImputer() otherwise."""
    from vae_tf.imputers.registry import ENTRIES
    if isinstance(given, type) and issubclass(given, Imputer) and \
            "seed" in inspect.signature(given).parameters:
        return f"{given.__name__}()"
    entry = ENTRIES.get(given) if isinstance(given, str) else None
    return f"{entry.cls}()" if entry is not None and entry.trains else "MIWAEImputer()"


def _mean(arrays) -> np.ndarray:
    """The mean of equally shaped arrays, one held at a time beside the running sum."""
    total, n = None, 0
    for a in arrays:
        total = a.astype(np.float64) if total is None else total + a
        n += 1
    return total / n

