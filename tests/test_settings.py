"""Declared settings (vae_tf/settings.py): each Config field and imputer parameter says what
it may hold, and the one-line refusal's example is a value the setting accepts."""

import dataclasses
import inspect
import math

import pytest

from vae_tf import settings
from vae_tf.config import FLAG_FIELDS, Config, make_config
from vae_tf.errors import UserError
from vae_tf.imputers import registry
from vae_tf.settings import Integer, Real


def _imputer_classes():
    from vae_tf.imputers.ensemble import SeedEnsemble
    return [e.imputer_class for e in registry.ENTRIES.values()] + [SeedEnsemble]


def test_every_number_field_of_config_declares_what_it_may_hold():
    numbers = [f for f in FLAG_FIELDS if f.type in (int, float, "int", "float")
               or "float" in str(f.type) or "int" in str(f.type)]
    assert len(numbers) >= 18
    for f in numbers:
        assert isinstance(f.metadata["check"], (Integer, Real)), f.name


@pytest.mark.parametrize("field", [f for f in FLAG_FIELDS if f.metadata["check"] is not None],
                         ids=lambda f: f.name)
def test_a_config_fields_default_and_example_pass_its_own_check(field):
    check = field.metadata["check"]
    assert check.valid(field.default), field.name
    example = settings.example(check, field.default)
    if isinstance(example, str):  # "0.001, or leave it unset for Glorot"
        example = float(example.split(",")[0])
    assert check.valid(example), (field.name, example)
    # the refusal names the flag, what it must be and the example
    bad = -1 if isinstance(check, Integer) or check.low >= 0 else math.inf
    line = settings.flag_error(field.name, bad, check, field.default)
    assert line.startswith(f"--{field.name}={bad!r} must be ") and "; pass e.g. --" in line


@pytest.mark.parametrize("cls", _imputer_classes(), ids=lambda c: c.__name__)
def test_an_imputers_declared_parameters_accept_their_defaults(cls):
    constraints = cls._constraints()
    defaults = {p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()}
    assert constraints, cls.__name__
    for name, constraint in constraints.items():
        assert name in defaults, (cls.__name__, name)  # a real constructor argument
        value = defaults[name]
        if isinstance(constraint, tuple):
            assert value in constraint, (cls.__name__, name)
        else:
            assert constraint.valid(value), (cls.__name__, name, value)
            assert constraint.valid(settings.example(constraint, value)), (cls.__name__, name)


@pytest.mark.parametrize("cls, name, bad, words", [
    ("KNNImputer", "n_neighbors", 0, "n_neighbors=0): n_neighbors must be an integer from 1; "
                                     "pass e.g. n_neighbors=10"),
    ("KNNImputer", "weights", "distance", "unknown weights; choose one of: softmax, uniform"),
    ("VAEImputer", "latent_dim", 0, "latent_dim must be an integer from 1; pass e.g. "
                                    "latent_dim=64"),
    ("VAEImputer", "marker", 2.0, "marker must be a finite number in [0, 1]; pass e.g. "
                                  "marker=0.5"),
    ("MIWAEImputer", "epochs", 0, "epochs must be an integer from 1; pass e.g. epochs=100"),
    ("MIWAEImputer", "likelihood", "poisson", "unknown likelihood; choose one of: auto"),
    ("RatingVAE", "input_dropout", 1.5, "input_dropout must be a finite number in [0, 0.99]; "
                                        "pass e.g. input_dropout=0.25"),
    ("SeedEnsemble", "n_seeds", 0, "n_seeds must be an integer from 1; pass e.g. n_seeds=3"),
])
def test_validate_params_refuses_in_one_line_with_the_default_as_example(cls, name, bad, words):
    import vae_tf
    imputer = getattr(vae_tf, cls)(**{name: bad})
    with pytest.raises(UserError) as caught:
        imputer._validate_params(name)
    assert words in str(caught.value) and "\n" not in str(caught.value)
    getattr(vae_tf, cls)()._validate_params()  # the defaults pass every check


def test_a_constraint_rejects_bools_strings_and_non_finite_numbers():
    assert not Integer().valid(True) and not Integer().valid("3") and not Integer().valid(2.0)
    assert not Real().valid(math.nan) and not Real().valid(math.inf) and not Real().valid("1")
    assert Real(high=1, none=True).valid(None) and not Real(high=1).valid(None)
    assert Real(0.001, 10, low_open=False, zero_means="learned").valid(0)
    assert not Real(0.001, 10, low_open=False, zero_means="learned").valid(1e-30)


def test_config_refuses_a_library_users_wrong_type_in_one_line():
    with pytest.raises(UserError, match=r"^--learning_rate='fast' must be a finite positive "
                       r"number; pass e.g. --learning_rate=0.001$"):
        make_config(learning_rate="fast")
    with pytest.raises(UserError, match=r"^--seed=-1 must be 0 to 4294967295 \(2\*\*32 - 1\); "
                       r"pass e.g. --seed=0$"):
        make_config(seed=-1)
    assert dataclasses.is_dataclass(Config)
