"""Which stale results one sitting regenerates, given a budget in minutes.

`plan(stale, minutes, budget)` walks the stale stages in the order given (run_all's order)
and takes each one that still fits what is left of the budget, so a long regeneration can
be spread over several sittings at one commit; a stage expected to take longer than the
whole budget is reported, never started.
"""

import dataclasses
from typing import List, Mapping, Optional, Sequence


@dataclasses.dataclass
class Plan:
    """One sitting's share of the stale stages under a budget in minutes.

    run: stages that fit, in the order given; later: stages left for another sitting;
    too_long: stages expected to take longer than the whole budget (never run by it).
    """

    run: List[str]
    later: List[str]
    too_long: List[str]
    minutes: Mapping[str, float]
    budget: Optional[float]

    def lines(self) -> List[str]:
        def named(stages):
            return ", ".join(f"{s} ({self.minutes[s]:g} min)" for s in stages)
        total = sum(self.minutes[s] for s in self.run)
        of = f" of the {self.budget:g} min budget" if self.budget is not None else ""
        lines = [f"to run now: {named(self.run) or 'nothing'}; about {total:g} min{of}"]
        if self.later:
            lines.append(f"left for a later sitting: {named(self.later)}")
        if self.too_long:
            lines.append(f"longer than the whole budget, not run: {named(self.too_long)}; "
                         "give a larger --budget")
        return lines


def plan(stale: Sequence[str], minutes: Mapping[str, float],
         budget: Optional[float] = None) -> Plan:
    """The stale stages (in the order given) that fit `budget` minutes, taken first-fit;
    all of them when budget is None. minutes: each stage's expected minutes."""
    if budget is not None and not 0 < budget < float("inf"):
        raise SystemExit(f"run_all: --budget={budget:g} is not a positive number of minutes; "
                         "pass e.g. --budget=90")
    missing = [s for s in stale if s not in minutes]
    if missing:
        raise ValueError(f"no expected minutes for {', '.join(missing)}")
    run, later, too_long, used = [], [], [], 0.0
    for stage in stale:
        if budget is None or used + minutes[stage] <= budget:
            run.append(stage)
            used += minutes[stage]
        else:
            (too_long if minutes[stage] > budget else later).append(stage)
    return Plan(run, later, too_long, dict(minutes), budget)
