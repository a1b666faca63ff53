"""The small base every imputer shares: scikit-learn's estimator conventions, one input check.

Settings are constructor arguments only, stored unchanged (so `sklearn.base.clone`,
`get_params`/`set_params`, `Pipeline` and `GridSearchCV` work without scikit-learn being
installed) and checked in `fit`, where a bad one raises a one-line `UserError` in the
argument's name. `fit(X) -> self`, `transform(X)`, `fit_transform(X)`; NaN marks a missing
entry, and observed entries come back unchanged. After `fit`: `n_features_in_`, and for
the models that train, `history_` (one dict per epoch). The table conventions (DataFrames
in and out, feature names, dtypes, empty columns) live in validation.py: every subclass's
fit, transform and fit_transform are wrapped by its `boundary`.
"""

import inspect
import math
from typing import Any, Dict, Optional, Tuple

import numpy as np

from vae_tf import settings
from vae_tf.errors import UserError
from vae_tf.imputers import validation
from vae_tf.imputers.validation import boundary


class Imputer:
    """Base class: parameters from `__init__`'s signature, checks, fit_transform, and the
    table conventions (validation.py): set_output, get_feature_names_out.

    `_parameter_constraints` (scikit-learn's name) declares what each parameter may hold:
    a settings.Integer or Real, or a tuple of choices; a subclass adds to its bases'.
    `_validate_params` checks them, with each parameter's default as the example.
    """

    _parameter_constraints: Dict[str, Any] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("fit", "transform", "fit_transform"):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "__boundary__", False):
                setattr(cls, name, boundary(method))

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return sorted(p.name for p in signature.parameters.values()
                      if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD)

    @classmethod
    def _constraints(cls) -> Dict[str, Any]:
        """Every declared constraint, the subclass's over its bases'."""
        out: Dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            out.update(klass.__dict__.get("_parameter_constraints", {}))
        return out

    def _validate_params(self, *names: str, **values: Any) -> None:
        """One-line UserError for the first declared parameter (of `names`, default all)
        outside its constraint; `values` stand in for attributes (e.g. a resolved default)."""
        owner, constraints = type(self).__name__, self._constraints()
        defaults = {p.name: p.default for p in
                    inspect.signature(type(self).__init__).parameters.values()}
        for name in names or tuple(constraints):
            constraint = constraints[name]
            value = values[name] if name in values else getattr(self, name)
            if isinstance(constraint, tuple):
                check_choice(owner, name, value, constraint)
            elif not constraint.valid(value):
                raise UserError(settings.argument_error(owner, name, value, constraint,
                                                        defaults.get(name)))

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor arguments, as given."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "Imputer":
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise UserError(f"{type(self).__name__} has no setting {name!r}; "
                                f"choose among: {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in
                    inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params(deep=False).items()
                   if defaults.get(k) is not v
                   and not _same(defaults.get(k), v)]
        return f"{type(self).__name__}({', '.join(changed)})"

    @boundary
    def fit_transform(self, X, y=None) -> np.ndarray:
        return self.fit(X, y).transform(X)

    def set_output(self, *, transform: Optional[str] = None) -> "Imputer":
        """transform="pandas": transform and fit_transform return a DataFrame (X's index,
        `get_feature_names_out()` as columns); "default": numpy; None: unchanged."""
        if transform is None:
            return self
        if transform not in validation.OUTPUTS:
            raise UserError(f"{type(self).__name__}.set_output(transform={transform!r}): choose "
                            f"one of: {', '.join(validation.OUTPUTS)}, or None")
        if transform == "pandas":
            try:
                import pandas  # noqa: F401
            except ImportError:
                raise UserError("set_output(transform='pandas') needs pandas; pip install "
                                "pandas, or keep transform='default'") from None
        self._sklearn_output_config = {**getattr(self, "_sklearn_output_config", {}),
                                       "transform": transform}
        return self

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The output's column names (object array): the input's, less the columns empty in
        fit unless `keep_empty_features`."""
        self._check_fitted()
        names = validation.names_in(self, input_features)
        valid = getattr(self, "_valid_features_", None)
        if valid is None or getattr(self, "keep_empty_features", False):
            return names
        return names[valid]

    def __sklearn_tags__(self):
        """scikit-learn's estimator tags (asked for only by scikit-learn, so imported here)."""
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags
        return Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags(), input_tags=InputTags(allow_nan=True))

    # -- checks shared by every imputer ---------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise UserError(f"this {type(self).__name__} is not fitted; call fit(X) first")

    def _check_width(self, x: np.ndarray) -> None:
        if x.shape[1] != self.n_features_in_:  # scikit-learn's words, then the fix
            raise UserError(f"X has {x.shape[1]} features, but {type(self).__name__} is "
                            f"expecting {self.n_features_in_} features as input; impute data "
                            "of the width it was fitted on")


def mean_history(histories) -> list:
    """Per epoch, the mean over several fits' histories of each figure all of them record
    (the epoch number kept). Histories of one length, one dict per epoch."""
    out = []
    for rows in zip(*histories):
        keys = [k for k in rows[0] if all(k in r for r in rows)]
        out.append({k: rows[0][k] if k == "epoch" else float(np.mean([r[k] for r in rows]))
                    for k in keys})
    return out


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except Exception:  # arrays and the like
        return False


def check_array(X, what: str = "X", unit: bool = False,
                fix: str = "scale them first") -> Tuple[np.ndarray, np.ndarray]:
    """A float32 copy of X [N, D] (the caller's array never changes) and its mask (True = observed).

    X may be a DataFrame (validation.as_numeric: pd.NA is missing). One-line UserError for
    anything not a non-empty 2-D numeric array with NaN holes (naming a non-numeric
    column), for infinities and values beyond float32's range, and (with `unit`) for
    observed values outside [0, 1] (`fix` says what to do).
    """
    data = validation.as_numeric(X, what)
    with np.errstate(over="ignore"):  # a value beyond float32's range: refused just below
        x = np.array(data, dtype=np.float32)
    if np.isinf(x).any():
        validation.check_float32(data, what=what)  # finite, but too large for float32
        raise UserError(f"{what} holds infinite values; mark missing entries with NaN")
    mask = ~np.isnan(x)
    if unit:
        values = x[mask]
        if values.size and (values.min() < 0 or values.max() > 1):
            raise UserError(f"{what} has values in [{values.min()}, {values.max()}]; this "
                            f"imputer models data in [0, 1]: {fix}")
    return x, mask


def check_int(owner: str, name: str, value: Any, low: int = 1,
              high: Optional[int] = None, example: Any = None) -> int:
    """`value` as an int in [low, high]; a one-line UserError in the argument's name otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < low or (high is not None and value > high):
        bound = f"from {low}" + (f" to {high}" if high is not None else "")
        raise UserError(f"{owner}({name}={value!r}): {name} must be an integer {bound}; "
                        f"pass e.g. {name}={example if example is not None else low}")
    return int(value)


def check_float(owner: str, name: str, value: Any, low: float = 0.0, high: float = math.inf,
                low_open: bool = True, example: Any = None) -> float:
    """`value` as a finite float in (low, high] (or [low, high]); one-line UserError otherwise."""
    ok = (isinstance(value, (int, float, np.integer, np.floating))
          and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
          and (value > low if low_open else value >= low) and value <= high)
    if not ok:
        side = "(" if low_open else "["
        top = "inf)" if high == math.inf else f"{high:g}]"
        raise UserError(f"{owner}({name}={value!r}): {name} must be a finite number in "
                        f"{side}{low:g}, {top}; pass e.g. {name}={example}")
    return float(value)


def check_choice(owner: str, name: str, value: Any, choices) -> str:
    if value not in choices:
        raise UserError(f"{owner}({name}={value!r}): unknown {name}; choose one of: "
                        f"{', '.join(map(str, choices))}")
    return value
