"""Generation quality: how many of the items asked for are offered, and how many of those pass every check.

Runs the offline provider behind the quality gate (what the tool uses) and, in the same run, the
generator as it was before the gate (bench/generation_baseline/, the baseline) over the corpus of
tests/data/corpus/ (12 texts: sciences, humanities, a table-heavy PDF, a short and a long text). Each
question type is asked for alone, 10 per text; then 10 questions of all types at once ("mixed", as a
teacher who ticks every type asks); and 10 cards per text. Offered items are judged by the
independent checks of tests/ai/item_checks.py (not by the gate), per type and per check.

    .venv/bin/python bench/generation.py            # the whole corpus
    .venv/bin/python bench/generation.py --quick    # four texts
    .venv/bin/python bench/generation.py --show 3   # also print 3 offered items per type and text, to read

Ends with RESULT lines: generation_offered_share_<type> (offered / asked), generation_pass_share_<type>
(offered items passing every check / offered) and generation_kept_share_<type> (items passing every
check / asked), each against the baseline (ratio = ours / baseline; above 1 is better).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

TYPES = ["single", "multiple", "true_false", "numeric", "short", "free_text"]
ASKED = 10
QUICK = ["cell_biology.md", "french_revolution.md", "planets.pdf", "tides_short.md"]


def _django() -> None:
    """Settings only (reading an upload needs them); no database is touched."""
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="lms-bench-generation-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lti_config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def corpus(quick: bool) -> dict[str, str]:
    from tests.ai.flawed import CORPUS, corpus_text

    names = QUICK if quick else sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".md", ".pdf"))
    return {name: corpus_text(name) for name in names}


def spot_check(provider: Any, texts: dict[str, str]) -> None:
    """The person's reading (tests/data/spot_check.json) of the items the gated provider offers now."""
    import json

    read = json.loads((BASE_DIR / "tests" / "data" / "spot_check.json").read_text())
    # Select-all items share their prompt: an item is known by its prompt and its options.
    by_prompt = {(r["text"], r["shown"], tuple(r.get("options", []))): r for r in read}
    kept = seen = unread = 0
    for name in sorted({r["text"] for r in read} & set(texts)):
        for question in provider.generate_questions(text=texts[name], count=ASKED, types=TYPES).items:
            options = tuple(question.options) if question.type in ("single", "multiple") else ()
            label = by_prompt.get((name, question.prompt, options))
            if label is None:
                unread += 1
                continue
            seen += 1
            kept += label["keep"]
    if seen:
        print(
            f"spot-check by a person (tests/data/spot_check.json, mixed questions of {len(read)} read): "
            f"{kept} of the {seen} offered now were kept as they are ({kept / seen:.0%}); {unread} offered now were not read"
        )


def run(provider: Any, texts: dict[str, str], show: int, label: str) -> dict[str, dict[str, Any]]:
    """Per type: asked, offered, and per check how many offered items pass it (and pass all)."""
    from tests.ai.item_checks import CHECKS, checks_run, item_of_card, item_of_question

    totals: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"asked": 0, "offered": 0, "all": 0, **dict.fromkeys(CHECKS, 0)}
    )
    for name, text in texts.items():
        for kind in [*TYPES, "mixed", "cards"]:
            if kind == "cards":
                items = [item_of_card(c) for c in provider.generate_cards(text=text, count=ASKED).items]
            else:
                # "mixed": ten questions of every type at once, as a teacher who ticks every box asks.
                result = provider.generate_questions(text=text, count=ASKED, types=TYPES if kind == "mixed" else [kind])
                items = [item_of_question(q) for q in result.items]
            results = checks_run(items, text)
            total = totals[kind]
            total["asked"] += ASKED
            total["offered"] += len(items)
            for result_of in results:
                total["all"] += all(result_of.values())
                for check, ok in result_of.items():
                    total[check] += ok
            for item, result_of in list(zip(items, results, strict=True))[:show]:
                failed = [c for c, ok in result_of.items() if not ok]
                print(f"[{label}] {name} {kind}: {item.text} -> {item.answer!r} {item.options or ''} {item.tags or ''}")
                print(f"    {'passes every check' if not failed else 'fails: ' + ', '.join(failed)}")
    return totals


def table(totals: dict[str, dict[str, Any]], label: str) -> None:
    from tests.ai.item_checks import CHECKS

    print(f"\n{label}: offered of asked, and the share of offered items passing each check")
    print(f"{'type':<11}{'offered':>12}{'all':>6} " + " ".join(f"{c[:12]:>12}" for c in CHECKS))
    for kind, t in totals.items():
        offered = t["offered"] or 1
        shares = " ".join(f"{t[c] / offered:>12.0%}" for c in CHECKS)
        print(f"{kind:<11}{t['offered']:>5}/{t['asked']:<6}{t['all'] / offered:>6.0%} {shares}")


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def results(ours: dict[str, dict[str, Any]], base: dict[str, dict[str, Any]]) -> None:
    kinds = [*ours, "all"]
    for totals in (ours, base):  # every type asked alone, and cards (the mixed runs ask the same again)
        totals["all"] = {
            key: sum(t[key] for k, t in totals.items() if k not in ("all", "mixed"))
            for key in ("asked", "offered", "all")
        }
    for kind in kinds:
        o, b = ours[kind], base[kind]
        figures = {
            "offered_share": (_share(o["offered"], o["asked"]), _share(b["offered"], b["asked"])),
            "pass_share": (_share(o["all"], o["offered"]), _share(b["all"], b["offered"])),
            "kept_share": (_share(o["all"], o["asked"]), _share(b["all"], b["asked"])),
        }
        for name, (value, baseline) in figures.items():
            ratio = value / baseline if baseline else float("inf")
            print(f"RESULT generation_{name}_{kind} {value:.2f} share baseline={baseline:.2f} ratio={ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="four texts instead of the whole corpus")
    parser.add_argument("--show", type=int, default=0, help="print this many offered items per type and text")
    args = parser.parse_args()
    _django()
    from generation_baseline import OfflineProvider as BaselineProvider

    from lms_tool.ai.offline import OfflineProvider
    from lms_tool.ai.quality import GatedProvider

    texts = corpus(args.quick)
    load = os.getloadavg()
    print(f"corpus: {len(texts)} texts ({', '.join(texts)}); {ASKED} asked per type and text")
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    started = time.perf_counter()
    ours = run(GatedProvider(OfflineProvider()), texts, args.show, "gated")
    elapsed = time.perf_counter() - started
    base = run(BaselineProvider(), texts, args.show, "baseline")
    table(ours, "With the quality gate (the tool)")
    table(base, "Baseline: the generator before the gate")
    print(f"\ngeneration with the gate: {elapsed:.1f} s for {len(texts)} texts")
    spot_check(GatedProvider(OfflineProvider()), texts)
    results(ours, base)


if __name__ == "__main__":
    main()
