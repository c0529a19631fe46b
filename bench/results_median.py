"""The median of several runs of a bench script, from their printed RESULT lines, with each figure's spread.

    for i in 1 2 3; do .venv/bin/python bench/burst.py > /tmp/burst-$i.log; done
    .venv/bin/python bench/results_median.py /tmp/burst-*.log

For every RESULT name found in all the files it prints the runs' values (ours, baseline, ratio), then one RESULT
line: the median of ours, the median of the baselines and the median of the runs' ratios (a ratio's direction,
">1 is better", is each script's, so the median of the ratios keeps it). A name missing from one of the files is
reported and left out. Nothing is measured here: a script's own runs are the figures.
"""

from __future__ import annotations

import math
import re
import statistics
import sys
from pathlib import Path

LINE = re.compile(r"^RESULT (\S+) (\S+) (\S+) baseline=(\S+) ratio=(\S+)")


def parse(path: Path) -> dict[str, tuple[float, str, float, float]]:
    found = {}
    for line in path.read_text().splitlines():
        match = LINE.match(line.strip())
        if match:
            name, value, unit, baseline, ratio = match.groups()
            found[name] = (float(value), unit, float(baseline), float(ratio))
    return found


def fmt(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def median(values: list[float]) -> float:
    real = [v for v in values if not math.isnan(v)]
    return statistics.median(real) if real else math.nan


def main(paths: list[Path]) -> None:
    runs = [parse(path) for path in paths]
    names = list(dict.fromkeys(name for run in runs for name in run))
    print(f"{len(runs)} runs: {', '.join(str(p) for p in paths)}")
    results = []
    for name in names:
        missing = [str(p) for p, run in zip(paths, runs, strict=True) if name not in run]
        if missing:
            print(f"  {name}: not in {', '.join(missing)}; left out")
            continue
        rows = [run[name] for run in runs]
        ours, baseline, ratio = ([row[i] for row in rows] for i in (0, 2, 3))
        unit = rows[0][1]
        print(
            f"  {name}: ours {' / '.join(map(fmt, ours))} {unit}; baseline {' / '.join(map(fmt, baseline))}; "
            f"ratio {' / '.join(map(fmt, ratio))}"
        )
        results.append((name, median(ours), unit, median(baseline), median(ratio)))
    for name, ours_m, unit, base_m, ratio_m in results:
        print(f"RESULT {name} {fmt(ours_m)} {unit} baseline={fmt(base_m)} ratio={fmt(ratio_m)}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main([Path(arg) for arg in sys.argv[1:]])
