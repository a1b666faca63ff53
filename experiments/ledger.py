"""The ledger of test-split reads: experiments/results/test_reads.md, one row per read.

A read is one run (an experiment script, a benchmark, a launcher command) that scores a
test split. Every non-quick run that does appends one row with `record_read` (date,
commit, experiment, split, setting, metric, value, results file); a run that scores
several methods or settings on one split writes one row, its headline figure, and names
the rest in `setting` (`headline` makes that row of the figures a run scored). The rows
before the ledger existed were filled from git history and say so in their `source`
column. The file is append-only: a row, once written, is never rewritten, so the table is
always the file's last part.

A results file says how often its split had been read before its own run: call
`reads_before(split)` (or `reads_note(split)`) before `record_read`.

A split is a dataset's test examples together with what a method is scored on, named by
one string of SPLITS:
- "<dataset> test": whole test images (reconstruction error, -ELBO, KL, log-likelihood);
  ", binarized" when each pixel is a fixed Bernoulli draw of its grey level;
- "<dataset> test: <scheme> holes": the test images with the thesis's holes
  (vae_tf.missing: structured = half of the image, for the faces one fifth from row H/3;
  random = half of the pixels), scored on their entries, whichever protocol;
- "movielens ua.test", "movielens u1-u5.test" (the five folds, read together);
- "tabular benchmark: hidden entries": the hidden entries of tabular_imputation.py.
The same images under another hole scheme are another split.
"""

import difflib
import fcntl
import math
import os
import subprocess
import time
from numbers import Real
from typing import Dict, List, Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEDGER = os.path.join(REPO, "experiments", "results", "test_reads.md")

SPLITS = (
    # whole test images: reconstruction error, -ELBO, KL, log-likelihood
    "mnist_5k test", "mnist test", "mnist test, binarized", "omniglot_en test",
    "omniglot_gr test", "orl_faces test", "yale_faces test", "cifar10_rgb test",
    "cifar10_gray test",
    "binarized_mnist test",  # Larochelle's fixed binarization: its own split
    # test images with the thesis's holes, scored on their entries
    "mnist test: structured holes", "mnist test: random holes",
    "mnist test, binarized: structured holes", "mnist test, binarized: random holes",
    "omniglot_en test: structured holes", "omniglot_en test: random holes",
    "omniglot_gr test: structured holes", "omniglot_gr test: random holes",
    "orl_faces test: structured holes", "orl_faces test: random holes",
    "yale_faces test: structured holes", "yale_faces test: random holes",
    # held-out ratings and table entries
    "movielens ua.test", "movielens u1-u5.test",
    "tabular benchmark: hidden entries",
    # the bundled mnist_5k's test images, which the --quick runs score in MNIST's place
    "mnist_5k test, binarized", "mnist_5k test: structured holes",
    "mnist_5k test: random holes", "mnist_5k test, binarized: structured holes",
    "mnist_5k test, binarized: random holes",
)

COLUMNS = ("date", "commit", "experiment", "split", "setting", "metric", "value",
           "results file", "source", "reads")
HEADER = "| " + " | ".join(COLUMNS) + " |"
RULE = "|" + "---|" * len(COLUMNS)
RECORDED = "recorded by the run"  # the source of a row record_read writes
AT_LEAST = "at least 1"  # the reads of a past row whose evidence is a lower bound

_FRESH = ("# Test-split reads\n\nOne row per run that scored a test split "
          "(experiments/ledger.py); append-only.\n\n")


def image_split(dataset: str, holes: Optional[str] = None, binarized: bool = False) -> str:
    """The split name of a dataset's test images: whole, binarized, or with `holes`."""
    name = f"{dataset} test" + (", binarized" if binarized else "")
    return check_split(name + (f": {holes} holes" if holes else ""))


def check_split(split: str) -> str:
    """`split` if it is one of SPLITS; else a one-line ValueError naming the closest."""
    if split not in SPLITS:
        close = difflib.get_close_matches(str(split), SPLITS, n=1, cutoff=0.0)
        raise ValueError(f"split={split!r} is not one of experiments/ledger.py's SPLITS; "
                         f"use the canonical name, e.g. {close[0]!r}")
    return split


def headline(split: str, metric: str, figures, setting: str = "") -> Optional[tuple]:
    """One run's read of `split` as Run.write_table's test_reads take it: (split, setting,
    metric, value), the first scored of `figures` its headline.

    figures: (name, value) of each method or setting scored on the split, the headline
    first (then the others, in their order, should it be missing); a value None or not
    finite was not scored (diverged, skipped). The metric is `metric`, then the headline's
    name; the setting is `setting`, then the others with their values, then what was not
    scored. None when nothing was scored: no read to record.
    """
    scored = [(n, v) for n, v in figures if v is not None and math.isfinite(v)]
    if not scored:
        return None
    (name, value), others = scored[0], scored[1:]
    missing = [n for n, v in figures if v is None or not math.isfinite(v)]
    parts = [setting] if setting else []
    if others:
        parts.append("beside it: " + "; ".join(f"{n} {_number(v)}" for n, v in others))
    if missing:
        parts.append("not scored: " + "; ".join(missing))
    return check_split(split), "; ".join(parts) or name, f"{metric}, {name}", value


def _cell(name: str, text) -> str:
    if not isinstance(text, str) or not text.strip() or "|" in text or "\n" in text:
        raise ValueError(f"{name}={text!r} cannot be a cell of the ledger's table; give "
                         "non-empty text on one line without '|'")
    return text.strip()


def _number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"value={value!r} is not a finite number; give the figure the run "
                         "scored on the test split")
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.4f}"


def head_commit() -> str:
    """The checkout's short commit, "+dirty" when vae_tf/ or experiments/ have changes."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        dirty = git("status", "--porcelain", "vae_tf", "experiments/*.py")
        return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def record_read(experiment: str, split: str, setting: str, metric: str, value: float,
                results_file: str, *, quick: bool, ledger: str = LEDGER,
                commit: Optional[str] = None) -> Optional[str]:
    """Append this run's read of `split` to the ledger; the row written.

    A --quick run is a smoke test, not a read: with quick=True nothing is written (a quick
    run never writes under experiments/results/) and None is returned.
    """
    if not isinstance(quick, bool):
        raise ValueError(f"quick={quick!r} is not a bool; pass the script's --quick flag")
    path = os.path.abspath(results_file) if isinstance(results_file, str) else results_file
    inside = isinstance(path, str) and path.startswith(REPO + os.sep)
    cells = [time.strftime("%Y-%m-%d"), _cell("commit", commit or head_commit()),
             _cell("experiment", experiment), check_split(split), _cell("setting", setting),
             _cell("metric", metric), _number(value),
             _cell("results_file", os.path.relpath(path, REPO) if inside else results_file),
             RECORDED, "1"]
    if quick:  # checked like a full run's, so a quick test finds a bad argument
        return None
    row = "| " + " | ".join(cells) + " |\n"
    with open(ledger, "a+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # one appender at a time; released on close
        f.seek(0)
        text = f.read()
        if not text:
            f.write(_FRESH + HEADER + "\n" + RULE + "\n")
        else:
            _table_start(text.splitlines(), ledger)  # refuses a file that is not a ledger
            if not text.endswith("\n"):
                f.write("\n")
        f.write(row)
    return row


def _table_start(lines: List[str], ledger: str) -> int:
    """The index of the first row line; a one-line ValueError if the header is missing."""
    for i, line in enumerate(lines[:-1]):
        if line.strip() == HEADER and lines[i + 1].strip() == RULE:
            return i + 2
    raise ValueError(f"{ledger}: no ledger table (its header must be {HEADER!r}); "
                     "restore the file from git")


def read_rows(ledger: str = LEDGER) -> List[Dict[str, str]]:
    """The ledger's rows, each a dict by COLUMNS ([] when there is no ledger yet)."""
    if not os.path.exists(ledger):
        return []
    with open(ledger, encoding="utf-8") as f:
        lines = f.read().splitlines()
    start, rows = _table_start(lines, ledger), []
    for number, line in enumerate(lines[start:], start=start + 1):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != len(COLUMNS):
            raise ValueError(f"{ledger}, line {number}: not a row of {len(COLUMNS)} cells "
                             "(the table must be the file's last part); restore it from git")
        rows.append(dict(zip(COLUMNS, cells)))
    return rows


def reads_before(split: str, ledger: str = LEDGER) -> int:
    """How many reads of `split` the ledger holds (call before this run's record_read)."""
    check_split(split)
    return sum(row["split"] == split for row in read_rows(ledger))


def reads_note(split: str, ledger: str = LEDGER) -> str:
    """A results file's sentence: how often `split` had been read before this run."""
    rows = [r for r in read_rows(ledger) if r["split"] == check_split(split)]
    inside = os.path.abspath(ledger).startswith(REPO + os.sep)
    where = os.path.relpath(ledger, REPO) if inside else ledger
    if not rows:
        return f"The split '{split}' had not been read before this run ({where})."
    bound = "at least " if any(r["reads"] == AT_LEAST for r in rows) else ""
    times = "once" if len(rows) == 1 and not bound else f"{bound}{len(rows)} times"
    return f"The split '{split}' had been read {times} before this run ({where})."
