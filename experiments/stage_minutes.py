"""Each stage's expected full-run minutes: measured by its results file where that still
holds, else its config's estimate (`Stage.minutes`), marked as one.

A results file's header records the wall time of the process that wrote it
(common.write_table: "Written: <date> <time>, commit <c>, <n> cores; wall time <s> s").
run_all takes that time, rounded up to whole minutes, as the stage's cost only when
- the file has a fingerprint recording the config the stage would run with now
  (fingerprint.config_change: budgets, grids, seeds; an edit of the code keeps it), and
- the process did the work the file reports. Scripts resume finished run folders
  (vae_reconstruction, likelihoods, latent_2d, fidelity) and cached cells
  (tabular_imputation), so a rerun can rewrite a table in seconds. A rewrite shows as a
  figure of work in the file larger than the wall time: a run's training seconds (a
  "training seconds" row, a note "30 epochs, 167 s" or "899 s of training") or the cells'
  "compute time summed: N s". The largest such figure is one run's (or the cells' total),
  counted once even where a resumed run reports its seconds cumulatively at each budget,
  so a process that did that work lasted at least that long. A rewrite that reports no
  such figure is not caught here.
"""

import dataclasses
import math
import os
import re
from typing import Optional

from experiments.fingerprint import NOT_RECORDED, config_change

ESTIMATE = "estimate"
_HEADER = re.compile(r"^Written: (\S+) [\d:]+, commit (\S+), \d+ cores; wall time (\d+) s\s*$",
                     re.MULTILINE)
_NUMBER = r"(\d[\d,]*(?:\.\d+)?)"
_WORK = (re.compile(rf"^\|[^|\n]*\| training seconds \|[^|\n]*\| {_NUMBER} \|", re.MULTILINE),
         re.compile(rf"\b{_NUMBER} s of training\b"),
         re.compile(rf"\b\d+ epochs, {_NUMBER} s\b"),
         re.compile(rf"compute time summed: {_NUMBER} s\b"))


@dataclasses.dataclass(frozen=True)
class Minutes:
    """A stage's full-run minutes and where they come from."""

    full: float
    source: str  # "measured <date> (commit <c>)", or ESTIMATE
    why: str = ""  # for an estimate: why the results file's wall time does not apply

    @property
    def measured(self) -> bool:
        return self.source != ESTIMATE


def work_seconds(text: str) -> Optional[float]:
    """The largest figure of work a results file reports (module docstring); None: none."""
    found = [float(m.group(1).replace(",", "")) for p in _WORK for m in p.finditer(text)]
    return max(found, default=None)


def full_minutes(name: str, estimate: float, config, out_dir: str) -> Minutes:
    """`<out_dir>/<name>.md`'s wall time in whole minutes when it was written with `config`
    (the protocol a fingerprint records) and is no rewrite; else `estimate`, marked."""
    try:
        with open(os.path.join(out_dir, f"{name}.md")) as f:
            text = f.read()
    except FileNotFoundError:
        return Minutes(estimate, ESTIMATE, "no results file")
    header = _HEADER.search(text)
    if header is None:
        return Minutes(estimate, ESTIMATE, "no wall time in its header")
    date, commit, wall = header.group(1), header.group(2), int(header.group(3))
    work = work_seconds(text)
    if work is not None and work > wall:
        return Minutes(estimate, ESTIMATE, f"its {wall} s rewrote the table from earlier "
                       f"work: it reports {work:.0f} s of it")
    changed = config_change(out_dir, name, config)
    if changed == NOT_RECORDED:
        return Minutes(estimate, ESTIMATE, f"its {wall} s of {date}: no fingerprint to check "
                       "its config")
    if changed:
        return Minutes(estimate, ESTIMATE, f"its {wall} s was for another config: {changed}")
    return Minutes(max(1, math.ceil(wall / 60)), f"measured {date} (commit {commit})")
