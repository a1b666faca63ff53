"""The hashes a results fingerprint holds: of code, of files, of a config.

A module's code hash is the sha256 of `ast.dump` of its parsed source with every bare
string statement (docstrings) dropped: comments, docstrings, blank lines and line numbers
leave it unchanged, any edit to what runs changes it. `ast.dump`'s text differs between
Python versions, so the version is recorded beside the hashes. A config is hashed as
canonical JSON (sorted keys, tuples as lists, dataclasses as dicts).
"""

import ast
import dataclasses
import hashlib
import json
import math
import os
import sys
from typing import Dict, Mapping, Optional, Tuple

_SHORT = 60  # characters of a config value named in a reason


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _is_string_statement(node: ast.AST) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def code_hash(source: bytes) -> str:
    """sha256 of the code in `source` without docstrings or comments (raw bytes if not Python)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # not parseable: every byte counts
        return "raw:" + hashlib.sha256(source).hexdigest()
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list):
                setattr(node, field, [s for s in body if not _is_string_statement(s)])
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


class Hashes:
    """Caches for one record or status call: each file is read and hashed at most once."""

    def __init__(self):
        self._code: Dict[str, Optional[str]] = {}
        self._file: Dict[str, Optional[Tuple[int, str]]] = {}

    def code(self, path: str) -> Optional[str]:
        """code_hash of the file at `path`; None when it cannot be read (removed)."""
        if path not in self._code:
            try:
                with open(path, "rb") as f:
                    self._code[path] = code_hash(f.read())
            except OSError:
                self._code[path] = None
        return self._code[path]

    def file(self, path: str, size: Optional[int] = None) -> Optional[Tuple[int, str]]:
        """(size, sha256) of a file; None when it cannot be read. Given `size`, a file of
        another size is not read: (its size, "") then."""
        if path in self._file:
            return self._file[path]
        try:
            now = os.path.getsize(path)
            if size is not None and now != size:
                return now, ""
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            self._file[path] = now, digest.hexdigest()
        except OSError:
            self._file[path] = None
        return self._file[path]

    @staticmethod
    def text(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()


def plain(value):
    """`value` as JSON data: dataclasses and mappings become dicts with string keys,
    tuples and lists lists, sets sorted lists, numpy values Python ones; else repr."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    elif hasattr(value, "to_dict") and callable(value.to_dict):  # e.g. a ConfigDict
        value = value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # JSON has no inf or nan
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return plain(value.tolist())
    return repr(value)


def canonical(config) -> str:
    """The config as one canonical JSON text: equal configs give equal texts."""
    return json.dumps(plain(config), sort_keys=True, separators=(",", ":"))


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= _SHORT else text[:_SHORT - 3] + "..."


def first_difference(old, new, where: str = "") -> Optional[str]:
    """The first key (in sorted order, dotted when nested) whose value differs between two
    plain configs, with both values: "config epochs: 10 -> 20"; None when they are equal."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            at = f"{where}.{key}" if where else key
            if key not in new:
                return f"config {at}: removed (was {_short(old[key])})"
            if key not in old:
                return f"config {at}: added ({_short(new[key])})"
            found = first_difference(old[key], new[key], at)
            if found:
                return found
        return None
    if old == new and type(old) is type(new):
        return None
    return f"config {where or '(whole)'}: {_short(old)} -> {_short(new)}"
