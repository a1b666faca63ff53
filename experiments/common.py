"""The results-file writer of the experiment scripts: tables beside the thesis's numbers.

`write_table` records with every table the command that wrote it (path flags relative to
the repository), the budget, the seed, the commit, the cores and the wall time;
`output_dirs` keeps --quick runs out of experiments/results/. Importing this module loads
no TensorFlow (experiments/scaffold.py starts it quietly before a script's main).
"""

import dataclasses
import math
import os
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "experiments", "results")
THESIS_NUMBERS = os.path.join(REPO, "experiments", "thesis_numbers.json")
_STARTED = time.perf_counter()  # the script's start: write_table records the wall time since


def thesis(key: str) -> float:
    """A number the thesis reports, from experiments/thesis_numbers.json (each with its slide)."""
    import json
    with open(THESIS_NUMBERS) as f:
        numbers = {n["key"]: n["value"] for n in json.load(f)["numbers"]}
    if key not in numbers:
        raise KeyError(f"{key!r} is not in {os.path.relpath(THESIS_NUMBERS, REPO)}")
    return numbers[key]


# The collapse diagnostics live in the library (the launcher reports them too).
from vae_tf.collapse import (COLLAPSED_KL, FEW_UNITS_SHARE, SAME_RECONSTRUCTIONS,  # noqa: E402,F401
                             UNIT_KL, collapse_flag, latent_diagnosis, latent_units_in_use,
                             reconstruction_spread)

PATH_FLAGS = ("--data_root", "--out_dir", "--log_root")  # recorded relative to the repository


@dataclasses.dataclass
class Row:
    """One line of a result table: what was measured, the thesis's figure and ours."""

    experiment: str
    metric: str
    ours: Optional[float]
    thesis: Optional[float] = None
    note: str = ""

    @property
    def difference(self) -> Optional[float]:
        if self.ours is None or self.thesis is None:
            return None
        return self.ours - self.thesis


def diagnoses(model, x) -> Dict[str, dict]:
    """{name: collapse.latent_diagnosis} of a trained model on held-out rows x (see there
    for what x holds): {"": ...} for one model, a SeedEnsemble's members by their seeds."""
    members = getattr(model, "imputers_", None)
    if members is None:
        return {"": latent_diagnosis(model, x)}
    return {f"seed {m.seed}": latent_diagnosis(m, x) for m in members}


def prefixed(prefix: str, found: Dict[str, dict]) -> Dict[str, dict]:
    """`diagnoses` with each model's name led by `prefix` (its fold's, its seed's)."""
    return {f"{prefix}, {name}" if name else prefix: d for name, d in found.items()}


def _several(found) -> Dict[str, dict]:
    """One model's diagnosis (a dict with "test_kl", as run_train's metrics) as {"": it}."""
    return {"": found} if "test_kl" in found else dict(found)


def mean_kl(found) -> float:
    """The mean KL (nats) of one model's diagnosis, or over {name: diagnosis} of several."""
    return float(sum(d["test_kl"] for d in _several(found).values()) / len(_several(found)))


def collapse_note(found) -> str:
    """"20 of 32 latent units in use", then the collapse flag, of one model's diagnosis;
    of {name: diagnosis} of several (an ensemble's seeds, a model per fold): the range of
    their units and KLs, then each flag with its model's name."""
    several = _several(found)
    units = sorted(d["latent_units_in_use"] for d in several.values())
    used = f"{units[0]}" if units[0] == units[-1] else f"{units[0]}-{units[-1]}"
    parts = [f"{used} of {next(iter(several.values()))['latent_units']} latent units in use"]
    if len(several) > 1:
        kls = sorted(d["test_kl"] for d in several.values())
        parts.append(f"mean of {len(several)} models ({kls[0]:.2f}-{kls[-1]:.2f} nats)")
    parts += [f"{name}: {d['collapse']}" if name and len(several) > 1 else d["collapse"]
              for name, d in several.items() if d["collapse"]]
    return "; ".join(parts)


def kl_note(found) -> str:
    """"KL 12.31 nats, " and the collapse_note: for a note beside a model's other figures."""
    return f"KL {mean_kl(found):.2f} nats, {collapse_note(found)}"


def kl_row(experiment: str, found, metric: str = "test KL (nats)") -> "Row":
    """The row of a trained model's KL (one model's diagnosis, or the mean over {name:
    diagnosis} of several), its latent units in use and collapse flag in the note."""
    return Row(experiment, metric, mean_kl(found), note=collapse_note(found))


def kl_explained(over: str = "the held-out rows each row scores") -> str:
    """The table note that says what the KL figures are, `over` naming the rows."""
    return (f"KL: the mean KL(q(z | x) || p(z)) in nats over {over}; latent units in use: "
            f"those whose mean KL exceeds {UNIT_KL:g} nat; collapsed: KL under "
            f"{COLLAPSED_KL:g} nat, at most one unit in {FEW_UNITS_SHARE} in use, or (a VAE, "
            "the thesis's VAEImputer) reconstructions whose spread is under "
            f"{SAME_RECONSTRUCTIONS:g} of the data's (vae_tf/collapse.py).")


def _fmt(value: Optional[float]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.4f}"


def command_line() -> str:
    """The command that produced a table, as a user would retype it from the repository
    (an absolute --data_root, --out_dir or --log_root given relative to it)."""
    script = os.path.relpath(os.path.abspath(sys.argv[0]), REPO)
    words = []
    for arg in sys.argv[1:]:
        flag, sep, value = arg.partition("=")
        if sep and flag in PATH_FLAGS and os.path.isabs(value):
            arg = f"{flag}={os.path.relpath(value, REPO)}"
        words.append(arg)
    return " ".join(["python", script, *words])


def commit() -> str:
    """The repository's commit, with "+dirty" when vae_tf/ or experiments/ have changes (the
    ledger's `head_commit`, so a table and its ledger rows name the same commit)."""
    from experiments.ledger import head_commit
    return head_commit()


HOLD_OUT_EVERY = 10  # validation_split: every tenth training image is validation


def validation_split(data):
    """(train part, validation part): every HOLD_OUT_EVERY-th training image held out."""
    import dataclasses

    import numpy as np
    held = np.arange(len(data.train)) % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1
    labels = data.train_labels
    # run_train evaluates on `test`: here that is the validation part.
    return dataclasses.replace(
        data, train=data.train[~held], test=data.train[held],
        train_labels=None if labels is None else labels[~held],
        test_labels=None if labels is None else labels[held])


_QUICK = []  # set by output_dirs under --quick: write_table then refuses experiments/results


def output_dirs(out_dir: Optional[str], log_root: Optional[str], quick: bool,
                logs: str = "experiments") -> Tuple[str, str]:
    """(results folder, run-folder root) of a script.

    Unset: experiments/results and logs/<logs>; under --quick a fresh temporary folder
    holding both (run folders in its logs/), so a quick run never touches
    experiments/results/ nor resumes (or is resumed by) a full run's folders.
    """
    if quick:
        _QUICK.append(True)
        _refuse_quick_into_results(out_dir, log_root)
        out_dir = out_dir or tempfile.mkdtemp(prefix="vae_tf_quick_")
        log_root = log_root or os.path.join(out_dir, "logs")
    return out_dir or RESULTS, log_root or os.path.join("logs", logs)


def _inside_results(path: Optional[str]) -> bool:
    if not path:
        return False
    results, target = os.path.realpath(RESULTS), os.path.realpath(path)
    return os.path.commonpath([results, target]) == results


def _refuse_quick_into_results(*paths: Optional[str]) -> None:
    if any(_inside_results(p) for p in paths):
        raise SystemExit("--quick never writes into experiments/results/: drop --out_dir, or "
                         "pass a folder outside it")


def check_table_name(script: str, name: str, example: str) -> None:
    """A --table value must be a plain file name (no folder, not hidden); else one line."""
    if not name or not all(c.isalnum() or c in "_-." for c in name) or name.startswith("."):
        raise SystemExit(f"{script}: --table={name!r} is not a plain file name; use letters, "
                         f"digits, '_', '-' or '.', e.g. --table={example}")


def write_table(name: str, title: str, reproduces: str, rows: Sequence[Row], budget: str,
                seed: int, figures: Sequence[str] = (), notes: Sequence[str] = (),
                out_dir: str = RESULTS) -> str:
    """Write `<out_dir>/<name>.md`: the table, budget, seed, command, figures, notes."""
    if _QUICK:
        _refuse_quick_into_results(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    lines: List[str] = [
        f"# {title}", "",
        f"Reproduces: {reproduces}", "",
        f"Command: `{command_line()}`  ",
        f"Budget: {budget}  ",
        f"Seed: {seed}  ",
        f"Written: {time.strftime('%Y-%m-%d %H:%M')}, commit {commit()}, "
        f"{os.cpu_count()} cores; wall time {time.perf_counter() - _STARTED:.0f} s", "",
        "| experiment | metric | thesis | ours | ours - thesis | note |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r.experiment} | {r.metric} | {_fmt(r.thesis)} | {_fmt(r.ours)} | "
                     f"{_fmt(r.difference)} | {r.note} |")
    if figures:
        lines += ["", "Figures:", ""] + [f"![{os.path.basename(f)}]({os.path.relpath(f, out_dir)})"
                                         for f in figures]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    path = os.path.join(out_dir, f"{name}.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
