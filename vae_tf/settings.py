"""What a number setting may hold, declared once beside the setting (scikit-learn's
`_parameter_constraints` is the model): config.py's fields and the imputers' parameters.

A constraint checks a value and says, in one line, what the setting must be and an example:
the launcher's form `--name=value must be ...; pass e.g. --name=example` (`flag_error`),
the library's `Owner(name=value): name must be ...; pass e.g. name=example`
(`argument_error`). The example is the setting's default unless the constraint names one
(a default that switches a feature off is no example of using it).
"""

import dataclasses
import math
from typing import Any, Optional

import numpy as np

_NO_EXAMPLE = object()


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)))


def _num(x: float) -> str:
    return f"{x:g}"


@dataclasses.dataclass(frozen=True)
class Integer:
    """An integer from `low` to `high` (None: no top). `low_means`, `high_means`: what the
    ends stand for ("off", "the ELBO"); `none`: None is valid too."""
    low: int = 1
    high: Optional[int] = None
    low_means: str = ""
    high_means: str = ""
    example: Any = _NO_EXAMPLE
    none: bool = False

    def valid(self, value: Any) -> bool:
        if value is None:
            return self.none
        return _is_int(value) and value >= self.low and (self.high is None or value <= self.high)

    def words(self) -> str:
        """What the launcher says the setting must be."""
        if self.high is None and self.low == 1 and not self.low_means:
            return "a positive integer"
        low = f"{self.low}" + (f" ({self.low_means})" if self.low_means else "")
        if self.high is None:
            return f"an integer from {low}"
        return f"{low} to {self.high}" + (f" ({self.high_means})" if self.high_means else "")

    def library_words(self) -> str:
        """What an imputer's argument must be."""
        return f"an integer from {self.low}" + (f" to {self.high}" if self.high is not None
                                                else "")


@dataclasses.dataclass(frozen=True)
class Real:
    """A finite number in (low, high] (`low_open`) or [low, high]; `zero_means`: 0 is valid
    too and stands for that ("learned"); `why`: a reason shown after the range."""
    low: float = 0.0
    high: float = math.inf
    low_open: bool = True
    zero_means: str = ""
    why: str = ""
    example: Any = _NO_EXAMPLE
    none: bool = False

    def valid(self, value: Any) -> bool:
        if value is None:
            return self.none
        if not (_is_number(value) and math.isfinite(value)):
            return False
        if self.zero_means and value == 0:
            return True
        return (value > self.low if self.low_open else value >= self.low) and value <= self.high

    def words(self) -> str:
        if self.zero_means:
            text = (f"0 ({self.zero_means}) or a number from {_num(self.low)} to "
                    f"{_num(self.high)}")
        elif self.high == math.inf and self.low == 0 and self.low_open:
            text = "a finite positive number"
        else:
            text = f"a finite number in {self._interval()}"
        return text + (f" ({self.why})" if self.why else "")

    def library_words(self) -> str:
        return f"a finite number in {self._interval()}"

    def _interval(self) -> str:
        top = "inf)" if self.high == math.inf else f"{_num(self.high)}]"
        return f"{'(' if self.low_open else '['}{_num(self.low)}, {top}"


def example(constraint, default: Any) -> Any:
    """The constraint's example, else the setting's default."""
    return default if constraint.example is _NO_EXAMPLE else constraint.example


def flag_error(name: str, value: Any, constraint, default: Any) -> str:
    """The launcher's one line for `--name=value` outside `constraint`."""
    return (f"--{name}={value!r} must be {constraint.words()}; pass e.g. "
            f"--{name}={example(constraint, default)}")


def argument_error(owner: str, name: str, value: Any, constraint, default: Any) -> str:
    """The library's one line for `Owner(name=value)` outside `constraint`."""
    return (f"{owner}({name}={value!r}): {name} must be {constraint.library_words()}; pass "
            f"e.g. {name}={example(constraint, default)}")
