"""A user's numeric table from a CSV file, for `--dataset=csv --data_dir=TABLE.csv`.

The first row is the header (one distinct, non-empty name per column); every other
non-blank row has one cell per column. An empty cell or one of `MISSING_CELLS` is a
missing entry; every other cell must parse as a finite number (Python's float, so 3,
-1.5e3 and " 2.0 " are numbers; "1,234" in quotes is not). Each cell's text is kept, so
that the imputed table writes observed cells back exactly as read.

Bad files are refused in one line naming the file, the problem and the fix, before
anything is written: not a readable UTF-8 file, empty, a header without a name or with
a name twice, a row of another length than the header (its line), a text cell (its
column and line), an infinite value or one beyond float32's range (about 3.4e38), a column
without any value, fewer than two rows, or a table whose estimated working memory exceeds
80 % of this machine's. numpy only.
"""

import csv
import dataclasses
import math
import os
from typing import List

import numpy as np

from vae_tf.errors import UserError

MISSING_CELLS = frozenset(("", "NA", "N/A", "NaN", "nan", "NULL", "null", "None", "?"))
# Working memory per cell: its text (a Python str, ~60 bytes), the float table, the
# imputer's copies (held-out, encoded, mask, imputed: ~10 float64s), and per multiple
# imputation one more float64 table.
BYTES_PER_CELL, BYTES_PER_IMPUTATION = 60 + 8 * 10, 8


@dataclasses.dataclass
class Table:
    """A CSV's header, each row's cell texts, and the values [N, D] (NaN = missing)."""
    path: str
    header: List[str]
    cells: List[List[str]]
    values: np.ndarray

    @property
    def missing(self) -> np.ndarray:
        return np.isnan(self.values)


def _memory() -> float:
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # not a POSIX system: no estimate
        return math.inf


def _size(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.2f} MB"


def _rows(path: str):
    """(line number, row) of the non-blank rows; UserError for an unreadable file."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            for row in reader:
                if row and any(cell.strip() for cell in row) or len(row) > 1:
                    yield reader.line_num, row
    except UnicodeDecodeError:
        raise UserError(f"--data_dir={path}: not a UTF-8 text file; save the table as a CSV "
                        "in UTF-8") from None
    except csv.Error as e:
        raise UserError(f"--data_dir={path}: not a CSV table ({e}); save it as "
                        "comma-separated values with a header row") from None


def read_csv(path: str, imputations: int = 0) -> Table:
    """The table of the CSV file `path` (see the module docstring); one-line UserErrors."""
    if not path:
        raise UserError("--dataset=csv reads its table from --data_dir; pass "
                        "--data_dir=<a CSV file with a header row>")
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        what = "a folder" if os.path.isdir(path) else "no such file"
        raise UserError(f"--data_dir={path}: {what}; pass --data_dir=<a CSV file with a "
                        "header row>")
    rows = _rows(path)
    first = next(rows, None)
    if first is None:
        raise UserError(f"--data_dir={path}: the file is empty; pass a CSV with a header row "
                        "and at least two rows of numbers")
    header = [name.strip() for name in first[1]]
    for j, name in enumerate(header):
        if not name:
            raise UserError(f"--data_dir={path}: column {j + 1} of the header has no name; "
                            "give every column a name in the first row")
    seen = set()
    for name in header:
        if name in seen:
            raise UserError(f"--data_dir={path}: the header names column {name!r} twice; "
                            "give each column its own name")
        seen.add(name)
    d, n = len(header), 0
    if d < 2:
        raise UserError(f"--data_dir={path}: the table has one column, so nothing to impute "
                        "its holes from but its mean; impute a table of at least two columns")
    for line, row in rows:  # first pass: shape only, so memory is checked before storing
        if len(row) != d:
            raise UserError(f"--data_dir={path}: line {line} has {len(row)} cells but the "
                            f"header has {d}; give every row one cell per column (an empty "
                            "cell for a missing value)")
        n += 1
    if n < 2:
        raise UserError(f"--data_dir={path}: {n} row{'s' if n != 1 else ''} of data; "
                        "imputation needs a table of at least two rows")
    need = n * d * (BYTES_PER_CELL + BYTES_PER_IMPUTATION * imputations)
    finite = float(np.finfo(np.float32).max)  # the models compute in float32
    if need > 0.8 * _memory():
        raise UserError(f"--data_dir={path}: a table of {n} rows x {d} columns needs about "
                        f"{_size(need)} here, more than 80 % of this machine's "
                        f"{_size(_memory())}; impute it in parts (rows or columns)"
                        + (" or pass fewer --imputations" if imputations else ""))
    stored = list(_rows(path))[1:]
    lines, cells = [line for line, _ in stored], [row for _, row in stored]
    values = np.empty((n, d))
    for j, name in enumerate(header):
        for i, row in enumerate(cells):
            text = row[j].strip()
            if text in MISSING_CELLS:
                values[i, j] = np.nan
                continue
            try:
                v = float(text)
            except ValueError:
                raise UserError(f"--data_dir={path}: column {name!r} holds text ({row[j]!r} "
                                f"on line {lines[i]}); impute numeric columns only: encode "
                                "it as numbers or drop the column") from None
            if not math.isfinite(v):
                raise UserError(f"--data_dir={path}: column {name!r} holds {row[j]!r} on line "
                                f"{lines[i]}, not a finite number; write a missing value as "
                                "an empty cell or NA")
            if abs(v) > finite:
                raise UserError(f"--data_dir={path}: column {name!r} holds {row[j]!r} on line "
                                f"{lines[i]}, which exceeds float32's range (about 3.4e38) the "
                                "models compute in; rescale the column (e.g. write it in "
                                "larger units)")
            values[i, j] = v
        if np.isnan(values[:, j]).all():
            raise UserError(f"--data_dir={path}: column {name!r} has no value; drop it "
                            "(nothing to learn it from)")
    return Table(path, header, cells, values)


def write_csv(path: str, table: Table, values: np.ndarray, observed: bool = True) -> str:
    """`table` with its missing cells filled from `values` [N, D] (7 significant digits,
    the float32 precision the models compute in) and its observed cells as read (their
    text; `observed=False`: empty), written to `path.tmp` and renamed by the caller with
    `publish` (nothing half-written)."""
    missing = table.missing
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(table.header)
        for i, row in enumerate(table.cells):
            writer.writerow([format(float(values[i, j]), ".7g") if missing[i, j]
                             else (row[j] if observed else "") for j in range(len(row))])
    return tmp


def publish(tmps) -> None:
    """Rename each `<path>.tmp` to `<path>`: the tables appear once all are written."""
    for tmp in tmps:
        os.replace(tmp, tmp[:-len(".tmp")])
