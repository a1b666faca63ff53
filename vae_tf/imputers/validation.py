"""The imputers' boundary with the caller: scikit-learn's and pandas's conventions, once.

Every imputer's `fit`, `transform` and `fit_transform` go through `boundary` (Imputer
wraps them when a subclass defines them), as scikit-learn's `validate_data` and
`_SetOutputMixin` do for its estimators:
- X may be a numpy array, a list of rows or a pandas DataFrame (pandas nullable Int64,
  Float64 and boolean columns too: pd.NA is a missing entry). A column that is not numeric
  (strings, categories, dates) is refused in one line naming it.
- `fit` records `n_features_in_`, and `feature_names_in_` when X is a DataFrame whose
  column names are all strings. Later calls refuse renamed or reordered columns in one
  line; a DataFrame after a fit on an array, or an array after a fit on a DataFrame, only
  warns (as scikit-learn).
- A value beyond float32's range (about 3.4e38), where the models compute, is refused in
  one line naming its column, before numpy could warn of an overflow.
- `keep_empty_features` False (the default, as scikit-learn's) or True: a column with no
  observed entry in fit is left out of the model (scikit-learn's KNNImputer `_valid_mask`);
  False drops it from the output, True returns it filled with 0 (no warning, as its
  KNNImputer). None keeps every column in the model, imputed as the thesis did: the
  launcher's choice, so MovieLens's matrices keep their two items nobody rated in ua.base
  (RatingVAE's default, for the same reason).
- The output has X's float type (float16/32/64; float64 for integers, booleans and
  nullable columns) and X's observed entries bit for bit; `set_output(transform="pandas")`
  (or scikit-learn's global `transform_output`) gives a DataFrame with X's index and
  `get_feature_names_out()` as columns.
Calls made inside a boundary (a SeedEnsemble's members, fit_transform's own fit) pass
straight through. Neither pandas nor scikit-learn is imported here unless the caller has.
"""

import functools
import math
import sys
import threading
import warnings

import numpy as np

from vae_tf.errors import UserError

OUTPUTS = ("default", "pandas")
FLOAT32_MAX = float(np.finfo(np.float32).max)  # about 3.4e38


class NotNumeric(UserError, TypeError):
    """A cell no number can be made of (a dict, a list): a UserError, and a TypeError as
    numpy's own for such a cell (what scikit-learn's checks expect)."""
_state = threading.local()  # depth: boundaries entered by this thread


def inside() -> bool:
    return getattr(_state, "depth", 0) > 0


def fit_context():
    """(column names or None, the columns kept [D] bool) of the table the outermost
    boundary is fitting, or None outside a fit: what a model that resolves columns by name
    (MIWAEImputer's categorical_features) needs, also inside a SeedEnsemble's members."""
    return getattr(_state, "fit", None)


def is_frame(X) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(X, pd.DataFrame)


def column_names(X):
    """X's column names [D] (object array) when X is a DataFrame named by strings, else None."""
    if not is_frame(X) or X.shape[1] == 0:
        return None
    names = np.asarray(X.columns, dtype=object)
    types = sorted({type(v).__name__ for v in names})
    if len(types) > 1 and "str" in types:
        raise UserError(f"X's column names mix {' and '.join(types)}; make them all strings, "
                        "e.g. X.columns = X.columns.astype(str)")
    return names if types == ["str"] else None


def as_numeric(X, what: str = "X") -> np.ndarray:
    """X [N, D] as a numpy array in its float type (float64 for integers, booleans and
    pandas nullable columns, pd.NA as NaN); float arrays come back as given, not copied."""
    if is_frame(X):
        return _frame_values(X, what)
    sparse = sys.modules.get("scipy.sparse")
    if sparse is not None and sparse.issparse(X):
        raise UserError(f"{what} is a scipy sparse matrix, and sparse input is not supported "
                        "(a hole is NaN, not an absent entry); pass X.toarray()")
    try:
        data = np.asarray(X)
    except (TypeError, ValueError):  # ragged rows and the like
        raise UserError(f"{what} must be a numeric 2-D array with NaN for missing entries; "
                        "convert it with np.asarray(X, dtype=float)") from None
    if data.ndim != 2:  # scikit-learn's words ("Reshape your data"), then ours
        raise UserError(f"{what} must be a 2-D array [examples, entries], got shape "
                        f"{data.shape}; Reshape your data: X.reshape(-1, 1) for one column, "
                        "X.reshape(1, -1) for one row")
    if data.size == 0:
        n, d = data.shape
        what_is = f"0 sample(s) (shape={data.shape}) while a minimum of 1 is required" if not n \
            else f"0 feature(s) (shape={data.shape}) while a minimum of 1 is required"
        raise UserError(f"{what} has {what_is}; pass a non-empty 2-D array [examples, "
                        "entries]")
    if data.dtype.kind == "f":
        return data
    if data.dtype.kind in "biu":
        return data.astype(np.float64)
    if data.dtype.kind == "c":
        raise UserError(f"{what}: Complex data not supported; impute real values (e.g. the "
                        "real and imaginary parts as two columns)")
    for j in range(data.shape[1]):  # objects or strings: name the first column that is not
        try:
            np.asarray(data[:, j], dtype=np.float64)
        except (TypeError, ValueError) as e:
            kind = NotNumeric if isinstance(e, TypeError) else UserError
            raise kind(f"{what} must be a numeric 2-D array with NaN for missing entries; "
                       f"its column {j} is not (e.g. {data[0, j]!r}: {e}): encode it as "
                       "numbers or drop it") from None
    return data.astype(np.float64)


def _frame_values(X, what: str) -> np.ndarray:
    api = sys.modules["pandas"].api.types
    kinds = []
    for name, column in X.items():
        dtype = column.dtype
        if api.is_bool_dtype(dtype) or api.is_integer_dtype(dtype):
            kinds.append(np.dtype(np.float64))
        elif api.is_float_dtype(dtype):
            kinds.append(np.dtype(getattr(dtype, "numpy_dtype", dtype)))
        else:
            try:
                if dtype != object:
                    raise TypeError
                column.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                raise UserError(f"{what} column {name!r} is not numeric ({dtype}); encode it "
                                f"as numbers or drop it: X.drop(columns=[{name!r}])") from None
            kinds.append(np.dtype(np.float64))
    if not kinds or len(X) == 0:
        raise UserError(f"{what} must be a non-empty table, got a DataFrame of shape {X.shape}")
    return X.to_numpy(dtype=np.result_type(*kinds), na_value=np.nan)


def check_float32(data: np.ndarray, names=None, what: str = "X") -> None:
    """Refuse a finite value of `data` [N, D] beyond float32's range (float32 would make it
    infinite), naming its column (by `names` when given) and row; infinities pass."""
    if data.dtype.itemsize <= 4:  # float16 and float32 hold nothing larger
        return
    if not (np.fmax.reduce(data, axis=None) > FLOAT32_MAX  # NaN-blind, so no warning
            or np.fmin.reduce(data, axis=None) < -FLOAT32_MAX):
        return
    big = np.isfinite(data) & (np.abs(data) > FLOAT32_MAX)
    if not big.any():
        return
    i, j = np.argwhere(big)[0]
    column = repr(names[j]) if names is not None else str(j)
    scale = 10.0 ** math.floor(math.log10(np.abs(data[big[:, j], j]).max()))
    raise UserError(f"{what} column {column} holds {data[i, j]:.3g} (row {i}), which exceeds "
                    "float32's range (about 3.4e38) the imputers compute in; rescale the "
                    f"column, e.g. divide it by {scale:.0e}")


def check_names(est, names) -> None:
    """Refuse renamed or reordered columns (one line); warn where scikit-learn warns."""
    fitted, cls = getattr(est, "feature_names_in_", None), type(est).__name__
    if fitted is None and names is None:
        return
    if fitted is None:
        warnings.warn(f"X has feature names, but {cls} was fitted without feature names",
                      UserWarning, stacklevel=4)
        return
    if names is None:
        warnings.warn(f"X does not have valid feature names, but {cls} was fitted with "
                      "feature names", UserWarning, stacklevel=4)
        return
    if len(names) == len(fitted) and (names == fitted).all():
        return
    fitted_set, names_set = set(fitted), set(names)
    unseen = [n for n in names if n not in fitted_set]
    missing = [n for n in fitted if n not in names_set]
    problem = "; ".join(p for p in (unseen and f"unseen in fit: {_few(unseen)}",
                                    missing and f"missing: {_few(missing)}") if p) \
        or f"the same names in another order ({_few(list(names))})"
    raise UserError(f"X's columns are not those {cls} was fitted on ({problem}); pass them "
                    "named and ordered as feature_names_in_: X[imputer.feature_names_in_]")


def _few(names, most: int = 5) -> str:
    return ", ".join(map(repr, names[:most])) + (", ..." if len(names) > most else "")


def names_in(est, input_features=None) -> np.ndarray:
    """scikit-learn's input feature names: `input_features`, checked, or the fitted ones."""
    fitted = getattr(est, "feature_names_in_", None)
    if input_features is None:
        return fitted if fitted is not None else \
            np.asarray([f"x{i}" for i in range(est.n_features_in_)], dtype=object)
    names = np.asarray(input_features, dtype=object)
    if fitted is not None and not np.array_equal(fitted, names):
        raise UserError(f"input_features {_few(list(names))} are not feature_names_in_ "
                        f"({_few(list(fitted))}); pass input_features=None")
    if len(names) != est.n_features_in_:
        raise UserError(f"input_features has {len(names)} names but {type(est).__name__} was "
                        f"fitted on {est.n_features_in_} columns; pass one name per column")
    return names


def output_kind(est) -> str:
    """"pandas" or "default": set_output's choice, else scikit-learn's global one."""
    chosen = getattr(est, "_sklearn_output_config", {}).get("transform")
    if chosen is None and "sklearn" in sys.modules:
        chosen = sys.modules["sklearn"].get_config().get("transform_output")
    return chosen if chosen in OUTPUTS else "default"


def boundary(method):
    """fit, transform or fit_transform behind the conventions of the module docstring."""
    @functools.wraps(method)
    def wrapped(est, X, *args, **kwargs):
        if inside():
            return method(est, X, *args, **kwargs)
        _state.depth = 1
        try:
            return _call(est, method, X, args, kwargs)
        finally:
            _state.depth = 0
    wrapped.__boundary__ = True
    return wrapped


def _call(est, method, X, args, kwargs):
    fitting = method.__name__ != "transform"
    keep = getattr(est, "keep_empty_features", False)
    if keep is not None and not isinstance(keep, (bool, np.bool_)):
        raise UserError(f"{type(est).__name__}(keep_empty_features={keep!r}): pass False "
                        "(drop columns empty in fit), True (return them as 0) or None")
    if not fitting:
        est._check_fitted()
    data, names = as_numeric(X), column_names(X)
    check_float32(data, names)
    if fitting:
        valid = ~np.isnan(data).all(0) if keep is not None else np.ones(data.shape[1], bool)
    else:
        check_names(est, names)
        est._check_width(data)
        valid = getattr(est, "_valid_features_", np.ones(data.shape[1], bool))
    model_x = data if valid.all() else data[:, valid]
    result, full = None, est.__dict__.get("n_features_in_")
    _state.fit = (names, valid) if fitting else None
    try:
        if not fitting:
            est.n_features_in_ = model_x.shape[1]  # the model's width, while it imputes
        if model_x.shape[1]:
            result = method(est, model_x, *args, **kwargs)
        elif fitting:  # no column observed: fit on X anyway, so bad settings still fail
            method(est, data, *args, **kwargs)
    finally:
        _state.fit = None
        if not fitting:
            est.n_features_in_ = full
    if fitting:
        est.n_features_in_, est._valid_features_ = data.shape[1], valid
        est.__dict__.pop("feature_names_in_", None)
        if names is not None:
            est.feature_names_in_ = names
        if method.__name__ == "fit":
            return est
    out = _assemble(data, valid, result, keep)
    if output_kind(est) != "pandas":
        return out
    import pandas as pd
    return pd.DataFrame(out, index=X.index if is_frame(X) else None,
                        columns=est.get_feature_names_out())


def _assemble(data, valid, result, keep) -> np.ndarray:
    """The model's output [N, D_model] put back in X's float type and columns, observed
    entries copied from X; columns empty in fit dropped or (keep) zero."""
    observed = ~np.isnan(data)
    if result is not None and valid.all():
        out = np.asarray(result).astype(data.dtype, copy=False)
        if not out.flags.writeable:
            out = out.copy()
    else:
        out = np.zeros(data.shape, data.dtype)
        if result is not None:
            out[:, valid] = result
    np.copyto(out, data, where=observed)
    if valid.all():
        return out
    if keep:
        out[:, ~valid] = 0
        return out
    return out[:, valid]
