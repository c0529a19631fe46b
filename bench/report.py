"""docs/benchmarks.md, written from the output of one ``make bench`` run: nothing in it is typed by hand.

    make bench                                                    # runs every script, then this
    .venv/bin/python bench/report.py var/bench/make-bench.log > docs/benchmarks.md   # again, from a kept log

What it writes, all of it from the log or from the bench scripts themselves:
- the run: when, which commit, the database and cache, the machine and the load average, as ``make bench`` and the
  scripts printed them;
- every headline figure (each script's RESULT lines: for a script run several times, the median of its runs from
  ``bench/results_median.py``; ``bench/launch.py`` and ``bench/passback.py`` print the median of their own rounds)
  in one table, with the issue's target where one was set and whether it was met;
- for each script, its docstring (what it measures, against which baseline, how to run it alone) and everything
  it printed in this run, verbatim.

A script whose output holds no RESULT line is reported as such; a figure is never carried over from another run.
"""

from __future__ import annotations

import ast
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULT = re.compile(r"^RESULT (\S+) (\S+) (\S+) baseline=(\S+) ratio=(\S+)")
HEADER = re.compile(r"^== (bench/[\w.]+\.py)(.*)$")
RUN_OF = re.compile(r"^, run \d+ of \d+")
MEDIAN_OF = re.compile(r"runs of (bench/\w+\.py)")

TITLES = {
    "launch": "Launch",
    "passback": "Grade passback",
    "burst": "Burst",
    "faults": "Faults",
    "quizzes": "Quizzes",
    "roster": "Roster",
    "flashcards": "Flashcards",
    "api": "API and webhooks",
    "analytics": "Analytics",
    "fsrs_fit": "FSRS fitted to each learner",
    "generation": "Generation quality",
    "risk": "At-risk score",
    "xapi": "xAPI",
}
ORDER = list(TITLES)


@dataclass(frozen=True)
class Target:
    text: str
    met: Callable[[float, float], bool]  # (ours, ratio) -> met


def _at_most(limit: float) -> Target:
    return Target(f"≤ {limit:g}", lambda ours, _ratio: ours <= limit)


def _below(limit: float) -> Target:
    return Target(f"< {limit:g}", lambda ours, _ratio: ours < limit)


def _ratio_at_least(limit: float) -> Target:
    return Target(f"ratio ≥ {limit:g}", lambda _ours, ratio: ratio >= limit)


NONE = Target("0", lambda ours, _ratio: ours == 0)

# The targets the issues set (issue 18 for the launch floor, passback and burst); a figure without one is reported
# as measured. Names are matched by prefix up to a tag such as ``_quick``.
TARGETS: dict[str, Target] = {
    "http_cpu_per_pair_pg_vs_stock_key_caching": _at_most(2.0),
    "jwks_fetches_per_1000_launches_vs_stock_key_caching": NONE,
    "sign_client_assertion_vs_stock_service_connector": _below(1.0),
    "sign_deep_linking_response_build_vs_stock_deep_link": _below(1.0),
    "passback_scores_per_second_vs_kept_connector": _ratio_at_least(1.0),
    "burst_errors_vs_stock": NONE,
    "burst_p99_launch_vs_stock": _below(250),
    "burst_p99_submit_vs_stock": _below(250),
    "burst_capacity_students_per_s_vs_stock": _ratio_at_least(2.0),
    "faults_scores_lost_vs_no_requeue": NONE,
    "faults_scores_posted_twice_vs_no_requeue": NONE,
}


@dataclass
class Section:
    script: str  # e.g. "launch"
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Figure:
    name: str
    ours: float
    unit: str
    baseline: float
    ratio: float
    script: str


def parse(log: str) -> tuple[list[str], dict[str, Section], list[Figure]]:
    """(the run's own lines before the first script, the sections by script, the headline figures)."""
    preamble: list[str] = []
    sections: dict[str, Section] = {}
    current: Section | None = None
    median = False  # in the lines of bench/results_median.py, for the script whose runs it took
    several: set[str] = set()  # scripts run several times: their headline figures are the median's
    figures: dict[str, Figure] = {}
    for raw in log.splitlines():
        line = raw.rstrip()
        header = HEADER.match(line)
        if header:
            script = Path(header.group(1)).stem
            median = script == "results_median"
            if median:
                of = MEDIAN_OF.search(header.group(2))
                script = Path(of.group(1)).stem if of else "burst"
            elif RUN_OF.match(header.group(2)):
                several.add(script)
            current = sections.setdefault(script, Section(script))
            current.lines.append(line)
            continue
        if line.startswith("== make bench ended"):
            preamble.append(line.removeprefix("== "))
            current = None
            continue
        if current is None:
            if line and not line.startswith("== "):
                preamble.append(line)
            continue
        current.lines.append(line)
        match = RESULT.match(line.strip())
        # A script run several times prints RESULT lines each run; its headline figures are the median's.
        if match and (current.script not in several or median):
            name, ours, unit, baseline, ratio = match.groups()
            figures[name] = Figure(name, float(ours), unit, float(baseline), float(ratio), current.script)
    return preamble, sections, list(figures.values())


def docstring(script: str) -> str:
    path = BENCH_DIR / f"{script}.py"
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    # reStructuredText literals (``x``) read as Markdown code spans; indented blocks stay code blocks.
    return doc.replace("``", "`")


def fmt(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return "—"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def target_of(name: str) -> Target | None:
    for key, target in TARGETS.items():
        if name == key or name.startswith(key + "_"):
            return target
    return None


def machine_line(sections: dict[str, Section]) -> str:
    for script in ORDER:
        for line in sections.get(script, Section(script)).lines:
            if line.startswith("machine"):
                return line
    return "machine: not printed by any script"


def render(log: str) -> str:
    preamble, sections, figures = parse(log)
    out = [
        "# Benchmarks",
        "",
        "Written by `bench/report.py` from the output of one `make bench` run; every figure below is something a",
        "script in `bench/` printed in that run. Do not edit it by hand: run `make bench` (over an hour on 2 cores;",
        "its start and end are below) and commit what it writes. Each script also runs alone",
        "(`.venv/bin/python bench/<name>.py --help`).",
        "",
        "Every headline figure is a median with its spread: `make bench` runs each script three times (`BENCH_RUNS`)",
        "and `bench/results_median.py` takes the median of each figure over the runs (each run's output is below);",
        "`bench/launch.py` and `bench/passback.py` alternate ours and the baseline over rounds within one run and",
        "print the median of their rounds.",
        "",
        "Each script ends with `RESULT <name> <value> <unit> baseline=<value> ratio=<ours vs baseline, >1 is",
        "better>` lines; the name says what the baseline is (`_vs_...`). A benchmark compares against its baseline",
        "*in the same run*, so ratios travel between machines better than absolute values. The load generators share",
        "the machine's cores with the servers they measure; the scripts say where a figure counts which process.",
        "",
        "## The run",
        "",
        "```",
        *preamble,
        machine_line(sections),
        "```",
        "",
        "## Headline figures",
        "",
        "| figure | ours | baseline | ratio (>1 is better) | target | |",
        "|---|---|---|---|---|---|",
    ]
    by_script = sorted(figures, key=lambda f: ORDER.index(f.script) if f.script in ORDER else len(ORDER))
    for fig in by_script:
        target = target_of(fig.name)
        verdict = ""
        if target is not None:
            verdict = "**met**" if target.met(fig.ours, fig.ratio) else "**missed**"
        out.append(
            f"| `{fig.name}` | {fmt(fig.ours)} {fig.unit} | {fmt(fig.baseline)} | {fmt(fig.ratio)} | "
            f"{target.text if target else ''} | {verdict} |"
        )
    if not figures:
        out.append("| (no RESULT line in this log) | | | | | |")
    for script in sorted(sections, key=lambda s: ORDER.index(s) if s in ORDER else len(ORDER)):
        section = sections[script]
        out += ["", f"## {TITLES.get(script, script)} (`bench/{script}.py`)", "", docstring(script), ""]
        if not any(RESULT.match(line.strip()) for line in section.lines):
            out += ["This run printed no RESULT line for this script.", ""]
        out += ["What it printed in this run:", "", "```", *section.lines, "```"]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(render(Path(argv[1]).read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
