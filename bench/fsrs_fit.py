"""FSRS weights fitted to each learner (fsrs-rs-python) against fsrs's defaults, on simulated learners.

    .venv/bin/python bench/fsrs_fit.py                 # 300 learners, about a minute
    .venv/bin/python bench/fsrs_fit.py --learners 1000
    .venv/bin/python bench/fsrs_fit.py --quick         # 40 learners, a smoke run

The learners are drawn from the model in ``lms_tool/flashcards/simulation.py`` (each one's memory is FSRS-6 with
weights of their own around the defaults; the tool schedules them with the defaults, as before any fit), 100 cards
studied over 120 days. Each learner's log is split by time (``lms_tool/flashcards/fitting.py``): the trainer sees
the older 80% of reviews; both weight sets are scored on the newer 20%, which the fit never saw. Measured:

- log-loss and RMSE (bins) of predicted recall on the held-out reviews, fitted vs defaults, pooled over learners
  (each learner's figure weighted by their held-out reviews), and the share of learners the fit improves;
- the time to fit (``fitting.fit``: split, train, score both weight sets), per learner, extrapolated linearly to
  1,000 and 10,000 learners on one core (the daily task fits one learner after another);
- that fsrs (the scheduler the tool uses) and the trainer's own model give the same memory state and interval
  with the same fitted weights, replayed review by review over 1,000 cards;
- load balancing: reviews per day of one learner studying daily (1,000 cards, 150 days), scheduled by the tool's
  ``scheduling.review`` with fuzz alone and with load balancing; peak day over mean day after the new cards end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common

from lms_tool.flashcards import fitting, simulation


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    learners = 40 if args.quick else args.learners
    print("machine:", _common.machine())

    t0 = time.perf_counter()
    simulated = [
        simulation.learner_simulate(simulation.learner_draw(seed), cards=100, days=120) for seed in range(learners)
    ]
    reviews = [len(learner.reviews) for learner in simulated]
    print(
        f"simulated {learners} learners in {time.perf_counter() - t0:.1f} s: reviews per learner "
        f"median {statistics.median(reviews):.0f} (min {min(reviews)}, max {max(reviews)})"
    )

    fits = []
    fit_seconds = 0.0
    for learner in simulated:
        start = time.perf_counter()
        fit = fitting.fit(learner.reviews, current=fitting.default_parameters())
        fit_seconds += time.perf_counter() - start
        if fit is not None:
            fits.append(fit)
    weights = [fit.test_items for fit in fits]
    total = sum(weights)

    def pooled(values: list[float]) -> float:
        return sum(v * w for v, w in zip(values, weights, strict=False)) / total

    fitted_loss = pooled([fit.candidate.log_loss for fit in fits])
    default_loss = pooled([fit.current.log_loss for fit in fits])
    fitted_rmse = pooled([fit.candidate.rmse_bins for fit in fits])
    default_rmse = pooled([fit.current.rmse_bins for fit in fits])
    improved = sum(fit.better for fit in fits) / len(fits)
    per_learner = fit_seconds / learners
    print(f"fitted {len(fits)} of {learners} learners ({total} held-out reviews), {per_learner * 1000:.1f} ms each")
    print(f"held-out log-loss: fitted {fitted_loss:.4f}, defaults {default_loss:.4f}")
    print(f"held-out RMSE (bins): fitted {fitted_rmse:.4f}, defaults {default_rmse:.4f}")
    print(f"learners whose held-out log-loss the fit improves: {improved:.0%}")
    print(
        f"fit time extrapolated: 1,000 learners {per_learner * 1000:.0f} s, 10,000 learners {per_learner * 10000:.0f} s"
    )

    agreement = None
    cards_left = 1000
    for learner, fit in zip(simulated, fits, strict=False):
        if cards_left <= 0:
            break
        one = simulation.schedules_compare(fit.parameters, learner.reviews, cards=cards_left)
        cards_left -= one.cards
        agreement = (
            one
            if agreement is None
            else simulation.Agreement(
                reviews=agreement.reviews + one.reviews,
                cards=agreement.cards + one.cards,
                same_interval=agreement.same_interval + one.same_interval,
                max_relative_difference=max(agreement.max_relative_difference, one.max_relative_difference),
            )
        )
    assert agreement is not None
    print(
        f"fsrs vs the trainer, same fitted weights: {agreement.cards} cards, {agreement.reviews} reviews replayed, "
        f"same interval after {agreement.same_interval}, largest relative difference of memory state "
        f"{agreement.max_relative_difference:.2e}"
    )

    peaks = {}
    for balance in (False, True):
        ratios = []
        for seed in range(3 if args.quick else 5):
            days = simulation.daily_load_simulate(seed, cards=1000, days=150, balance=balance)[60:]
            ratios.append(max(days) / statistics.mean(days))
        peaks[balance] = statistics.mean(ratios)
        print(f"load balancing {'on ' if balance else 'off'}: peak day / mean day {peaks[balance]:.2f}")

    _common.result(
        "fsrs_heldout_log_loss_fitted_vs_defaults", fitted_loss, "nats", default_loss, default_loss / fitted_loss
    )
    _common.result(
        "fsrs_heldout_rmse_bins_fitted_vs_defaults", fitted_rmse, "recall", default_rmse, default_rmse / fitted_rmse
    )
    _common.result("fsrs_learners_improved_share", improved, "share", 0.5, improved / 0.5)
    _common.result(
        "fsrs_fit_seconds_per_1000_learners_vs_one_day", per_learner * 1000, "s", 86400, 86400 / (per_learner * 1000)
    )
    _common.result(
        "fsrs_same_interval_fsrs_vs_trainer_reviews",
        agreement.same_interval,
        "reviews",
        agreement.reviews,
        agreement.same_interval / agreement.reviews,
    )
    _common.result(
        "fsrs_daily_load_peak_over_mean_balanced_vs_fuzz_only",
        peaks[True],
        "x",
        peaks[False],
        peaks[False] / peaks[True],
    )
    _common.print_results()


if __name__ == "__main__":
    main()
