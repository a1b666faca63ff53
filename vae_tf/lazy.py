"""Package attributes loaded on first use, so that `import vae_tf` stays light."""

import importlib
from typing import Callable, Dict, List, Tuple


def lazy_attributes(package: str, where: Dict[str, str],
                    namespace: Dict) -> Tuple[Callable, Callable[[], List[str]]]:
    """A package's module-level `__getattr__` and `__dir__`: `name` in `where` (name ->
    module) is imported from its module when first asked for; `namespace` is the package's
    globals()."""
    def __getattr__(name):
        if name in where:
            return getattr(importlib.import_module(where[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(list(namespace) + list(where))

    return __getattr__, __dir__
