"""What the imputers that train share: settings checks and one `fit` on the engine.

A subclass gives the data the engine feeds (`_data`), builds its objective inside the
strategy's scope (`_objective`), and keeps what it needs after training (`_after_fit`).
`strategy` is a name ("default", "mirrored", "multi_worker"), so the estimator clones;
`logdir` turns on the engine's checkpoints (a killed fit resumes), history and TensorBoard.
A subclass with a `warm_start` parameter (scikit-learn's convention) starts each fit from
the weights of the previous one when it is True (Adam's state starts afresh; a checkpoint
in `logdir` still wins, since resuming restores it).
"""

from typing import List, Optional

import keras
import numpy as np
import tensorflow as tf

from vae_tf import distribute
from vae_tf.config import SEED_MAX, STRATEGIES
from vae_tf.engine import Engine, Objective
from vae_tf.errors import UserError
from vae_tf.imputers import validation
from vae_tf.imputers.base import Imputer, check_array, check_int
from vae_tf.imputers.fit_folder import check_fit_folder, claim_fit, fingerprint
from vae_tf.rundir import RunDir
from vae_tf.settings import Integer, Real


class TrainedImputer(Imputer):
    """Base of the VAE imputers: `fit(X)` trains through `Engine`."""

    _parameter_constraints = {
        "epochs": Integer(), "learning_rate": Real(), "seed": Integer(0, SEED_MAX),
        "steps_per_call": Integer(), "verbose": Integer(0, 2), "strategy": STRATEGIES,
        "jit_compile": (True, False)}
    _shuffle = False  # the thesis's algorithm walks the batches in order
    _data_range: Optional[str] = "unit"  # observed values must lie in [0, 1]
    # What check_array's refusal of values outside [0, 1] tells the user to do.
    _unit_fix = ("scale them to [0, 1] first, or use MIWAEImputer, which models a raw "
                 "table's columns")

    # -- what subclasses give ------------------------------------------------------------
    def _check_settings(self, n: int) -> None:
        """Check the subclass's own constructor arguments (one-line UserErrors)."""

    def _prepare(self, x: np.ndarray, mask: np.ndarray) -> None:
        """Look at the checked data before the settings are resolved (e.g. column models)."""

    def _data(self, x: np.ndarray, mask: np.ndarray) -> List:
        """The arrays (or variables, made outside the strategy's scope) the engine feeds."""
        with tf.device("/cpu:0"):
            self._filled_variable = tf.Variable(np.where(mask, x, np.float32(self.marker)),
                                                trainable=False, name="filled")
        return [self._filled_variable, np.where(mask, x, 0).astype(np.float32),
                mask.astype(np.float32)]

    def _objective(self, x: np.ndarray, mask: np.ndarray, data: List) -> Objective:
        raise NotImplementedError

    def _after_fit(self, objective: Objective) -> None:
        """Keep what transform needs."""

    def _xla(self) -> bool:
        """Whether the engine compiles the step with XLA."""
        return bool(self.jit_compile)

    def _epochs(self):
        """The epochs a fit trains for (subclasses may resolve a default of None)."""
        return self.epochs

    def _fit_settings(self) -> dict:
        """The settings a run folder's fit is keyed by (resume only the same fit)."""
        return {k: v for k, v in self.get_params().items()
                if k not in ("logdir", "verbose", "epochs", "keep_empty_features")}

    def _examples(self, x: np.ndarray) -> int:
        """How many examples the engine's batches are drawn from (the rows of X)."""
        return len(x)

    def _batch(self, n: int) -> int:
        """The batch size for `n` examples (None: all of them in one batch)."""
        if self.batch_size is None:
            return n
        return check_int(type(self).__name__, "batch_size", self.batch_size, high=n,
                         example=min(n, 100))

    def _structure(self, d: int):
        """What a warm start must match beyond the weights' shapes (None: nothing)."""
        return None

    # -- the shared fit ------------------------------------------------------------------
    def _settings(self, n: int) -> dict:
        batch = self._batch(n)
        epochs = self._epochs()  # a default of None resolved
        self._validate_params(epochs=epochs)
        out = dict(epochs=int(epochs), batch_size=batch,
                   learning_rate=float(self.learning_rate), seed=int(self.seed),
                   steps_per_call=int(self.steps_per_call), verbose=int(self.verbose),
                   strategy=self.strategy)
        self._check_settings(n)
        return out

    def fit(self, X, y=None) -> "TrainedImputer":
        """Train on X [N, D] (NaN = missing); returns self."""
        x, mask = check_array(X, "X", unit=self._data_range == "unit",
                              fix=self._unit_fix)
        if len(x) < 2:
            raise UserError(f"X has 1 sample (n_samples=1); {type(self).__name__} learns from "
                            "the rows it is fitted on: fit on at least 2 rows")
        self._prepare(x, mask)
        s = self._settings(self._examples(x))
        strategy = distribute.make_strategy(s["strategy"])
        keras.utils.set_random_seed(s["seed"])
        data = self._data(x, mask)
        previous = getattr(self, "_fitted_objective", None) if getattr(
            self, "warm_start", False) else None
        structure = self._structure(x.shape[1])
        fitted = getattr(self, "_fitted_structure", None)
        if previous is not None and structure != fitted:
            raise UserError(f"{type(self).__name__}(warm_start=True): the previous fit's model "
                            f"({fitted}) is not this one ({structure}); fit "
                            "with the previous settings, or set warm_start=False")
        # As arrays, read before the new strategy's scope (the old model may be mirrored).
        weights = None if previous is None else [v.numpy() for v in previous.trainable_variables]
        with strategy.scope():
            objective = self._objective(x, mask, data)
            if weights is not None:
                _copy_weights(weights, objective, type(self).__name__, x.shape[1])
        if self.logdir:  # before anything is written there
            check_fit_folder(self.logdir)
        run = RunDir(self.logdir, "logdir") if self.logdir else None
        try:
            if run is not None:  # resume only the same fit
                claim_fit(run.path, fingerprint(x, sorted(self._fit_settings().items()),
                                                type(self).__name__))
            engine = Engine(objective, data, s["batch_size"], s["learning_rate"],
                            epsilon=getattr(self, "adam_epsilon", 1e-7), seed=s["seed"], shuffle=self._shuffle,
                            steps_per_call=s["steps_per_call"], jit_compile=self._xla(),
                            strategy=None if s["strategy"] == "default" else strategy, run=run,
                            verbose=s["verbose"])
            # The rate of this fit, not the one a resumed checkpoint stored.
            self.history_ = engine.fit(s["epochs"], learning_rate=lambda e: s["learning_rate"])
        finally:
            if run is not None:
                run.close()
        self.n_features_in_ = x.shape[1]
        self._fitted_objective = objective  # what a warm-started fit begins from
        self._fitted_structure = structure
        self._after_fit(objective)
        return self

    def warm_start_from(self, fitted: "TrainedImputer") -> "TrainedImputer":
        """Start the next fit from the weights of `fitted`, an imputer of this class already
        fitted on data of the same width (e.g. pretrained on a larger image set), as
        warm_start=True starts it from this imputer's own last fit. Sets warm_start=True and
        returns self; `fitted` is left as it is (the next fit copies its weights)."""
        name = type(self).__name__
        if "warm_start" not in self.get_params():
            raise UserError(f"{name} has no warm_start setting, so it cannot start from another "
                            "fit; use an imputer that has one, e.g. MIWAEImputer")
        if type(fitted) is not type(self) or not hasattr(fitted, "_fitted_objective"):
            given = (f"an unfitted {name}" if type(fitted) is type(self)
                     else f"an object of type {type(fitted).__name__}")
            raise UserError(f"{name}.warm_start_from() got {given}; pass a fitted {name}, "
                            f"e.g. {name}(...).fit(X_pretrain)")
        self._fitted_objective = fitted._fitted_objective
        self._fitted_structure = fitted._fitted_structure
        return self.set_params(warm_start=True)

    def _check_transform(self, X):
        """X checked as transform's; outside fit/transform/fit_transform (e.g. MIWAE's
        multiple_imputation), a DataFrame's names are checked and the columns empty in fit
        left out: the output has get_feature_names_out() without keep_empty_features."""
        self._check_fitted()
        x, mask = check_array(X, "X", unit=self._data_range == "unit",
                              fix=self._unit_fix)
        if not validation.inside():
            validation.check_names(self, validation.column_names(X))
            self._check_width(x)
            valid = getattr(self, "_valid_features_", None)
            if valid is not None and not valid.all():
                x, mask = x[:, valid], mask[:, valid]
            return x, mask
        self._check_width(x)
        return x, mask


def _copy_weights(weights: List[np.ndarray], objective: Objective, owner: str,
                  width: int) -> None:
    """Start `objective` from the previous fit's weights (warm_start)."""
    new = objective.trainable_variables
    if [tuple(w.shape) for w in weights] != [tuple(v.shape) for v in new]:
        raise UserError(f"{owner}(warm_start=True): the previous fit's model does not fit "
                        f"this one (data of {width} columns, or other sizes); fit data of the "
                        "previous width with the same sizes, or set warm_start=False")
    for target, value in zip(new, weights):
        target.assign(value)
