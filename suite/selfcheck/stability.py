"""Do the verdicts hold across reruns? Claims and winners of several saved runs, side by side.

``python -m suite.selfcheck.stability RUN RUN RUN [--results DIR]`` reads runs of the same
scenarios (three back-to-back ``suite run``s, say) and checks what ``suite findings``
would say of each: every claim must keep its verdict, or be not settled in some run, and
never turn to its opposite; every scenario's winner in one run must be the winner of
each other run or among those it did not clearly beat. It prints each claim's verdict per
run and every winner that broke that rule, and exits 1 if anything flipped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from suite.results import history
from suite.results.feeds import Feeds
from suite.results.findings import CLAIMS, Measurements, standings
from suite.results.paired import NOT_SETTLED


def state(verdict: str) -> str:
    """A claim's verdict reduced to what may not flip: true, false, not settled, or other."""
    if verdict.startswith(NOT_SETTLED):
        return "not settled"
    if verdict.startswith("True"):
        return "true"
    if verdict.startswith(("False", "Not here")):
        return "false"
    return verdict.split(":")[0].split(";")[0]


def claim_table(runs: Sequence[history.Run], feeds: Feeds) -> tuple[list[str], list[str]]:
    """A line per claim with its state in each run; and the claims whose states conflict."""
    lines, flipped = [], []
    per_run = [{v.claim: v.verdict for v in (c(Measurements(run, feeds)) for c in CLAIMS)} for run in runs]
    for claim in per_run[0]:
        states = [state(found.get(claim, "missing")) for found in per_run]
        settled = {s for s in states if s not in ("not settled", "Not measured in this run")}
        ok = len(settled) <= 1
        lines.append(f"{'ok  ' if ok else 'FLIP'} {claim}: {' | '.join(states)}")
        if not ok:
            flipped.append(claim)
            lines += [
                f"       {run.label}: {found.get(claim)}" for run, found in zip(runs, per_run, strict=True)
            ]
    return lines, flipped


def winner_problems(runs: Sequence[history.Run]) -> tuple[int, list[str]]:
    """Scenarios checked, and every winner outside another run's winner-and-ties group."""
    groups = []
    for run in runs:
        found = {}
        for standing in standings(Measurements(run)):
            # Models, as the findings name winners: each model stands with its best worker count.
            tied = {m.model for m in standing.ties()}
            found[standing.scenario] = (standing.winner.model, tied)
        groups.append(found)
    problems, checked = [], 0
    for scenario in groups[0]:
        if not all(scenario in g for g in groups):
            continue
        checked += 1
        for i, mine in enumerate(groups):
            winner = mine[scenario][0]
            for j, other in enumerate(groups):
                best, tied = other[scenario]
                if i != j and winner != best and winner not in tied:
                    problems.append(
                        f"{scenario}: {winner} won {runs[i].label} but {runs[j].label} "
                        f"ranked it outside {best} and its ties"
                    )
    return checked, problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.selfcheck.stability", description=__doc__)
    parser.add_argument("runs", nargs="+", metavar="RUN", help="saved runs (number, name or path)")
    parser.add_argument("--results", type=Path, default=Path("results"), help="storage folder")
    parser.add_argument(
        "--scenarios", type=Path, default=Path("scenarios"), help="scenario files: which feed which claim"
    )
    args = parser.parse_args(argv)
    runs = history.load(args.runs, args.results)
    lines, flipped = claim_table(runs, Feeds.of_files([args.scenarios]))
    checked, problems = winner_problems(runs)
    print("\n".join(lines))
    print("\n".join(problems))
    print(
        f"claims: {len(flipped)} of {len(CLAIMS)} turned to their opposite; "
        f"winners: {len(problems)} outside another run's tie group, over {checked} scenarios"
    )
    return 1 if flipped or problems else 0


if __name__ == "__main__":
    sys.exit(main())
