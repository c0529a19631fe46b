"""Flashcards on PostgreSQL with 10 million card states (20,000 learners x 500 cards).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/flashcards.py

Uses its own database ``lms_h7_bench`` on DATABASE_URL's server (created fresh, dropped at the end) and
generates the states in SQL (generate_series, indexes built after the load). Measures:

- the due-queue query of one learner in one deck (``reviews.due_first``, the model row included),
  against the same query with the composite (learner, due) index dropped inside a rolled-back transaction;
- a rating end to end (``reviews.review_record``: token check, row lock, fsrs scheduling, state update,
  review-log insert, commit), against fsrs's own ``review_card`` alone in memory (what the DB costs);
- retrievability of 1 million cards with numpy (``retention.retrievability``), against the fsrs package's
  ``Scheduler.get_card_retrievability`` card by card on the same cards.

Scale with BENCH_FLASHCARDS_LEARNERS (default 20000; x 500 cards each).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import _common

LEARNERS = int(os.environ.get("BENCH_FLASHCARDS_LEARNERS", "20000"))
DECKS, CARDS_PER_DECK = 5, 100
DB_NAME = "lms_h7_bench"
CARDS_PER_CHUNK = 25  # cards per INSERT ... SELECT (x 20,000 learners = 500k rows)


def _ms(ns: float) -> float:
    return ns / 1e6


def generate(context_pk: int, registration_pk: int) -> dict[str, float]:
    """20,000 learners, 5 decks x 100 cards, and one FSRS state per learner and card, in SQL."""
    from django.db import connection

    from lms_tool.flashcards.models import Card, Deck

    timings: dict[str, float] = {}
    started = time.perf_counter()
    decks = [Deck.objects.create(context_id=context_pk, title=f"Deck {d}", status="published") for d in range(DECKS)]
    Card.objects.bulk_create(
        Card(
            deck=deck,
            front=f"Q{d}.{i}",
            back=f"A{d}.{i}",
            tags=[f"concept-{(d * CARDS_PER_DECK + i) % 40}"],
            status="approved",
            position=i,
        )
        for d, deck in enumerate(decks)
        for i in range(CARDS_PER_DECK)
    )
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute(
            # Names, emails and SIS ids are encrypted columns: the bench's learners have none.
            "INSERT INTO lti_ltiuser (registration_id, sub, name, email, sis_id, created_at, updated_at) "
            "SELECT %s, 'learner-' || g, '', '', '', now(), now() FROM generate_series(1, %s) g",
            [registration_pk, LEARNERS],
        )
        # Load without indexes and constraints, then build them: ~5x faster than inserting into them.
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'flashcards_cardstate'::regclass AND contype IN ('f', 'u')"
        )
        constraints = cur.fetchall()
        for name, _ in constraints:
            cur.execute(f'ALTER TABLE flashcards_cardstate DROP CONSTRAINT "{name}"')
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'flashcards_cardstate' "
            "AND indexname NOT LIKE '%%_pkey'"
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute("SET work_mem = '256MB'")
        cur.execute(
            "SELECT id FROM flashcards_card WHERE deck_id IN (SELECT id FROM flashcards_deck WHERE context_id = %s)"
            " ORDER BY id",
            [context_pk],
        )
        card_ids = [row[0] for row in cur.fetchall()]
        load = time.perf_counter()
        for index in range(0, len(card_ids), CARDS_PER_CHUNK):
            chunk = card_ids[index : index + CARDS_PER_CHUNK]
            # States appear as learners reach cards, interleaved with everyone else's: rows in random order, so
            # one learner's 500 states sit on ~500 different pages (no accidental locality helping the queries).
            # Stability log-uniform over 0.4..150 days; last review up to 1.3 S ago, so ~23 % are due now.
            cur.execute(
                """
                INSERT INTO flashcards_cardstate (learner_id, card_id, deck_id, state, step, stability, difficulty,
                                                  due, last_review, reps, lapses, created_at)
                SELECT learner_id, card_id, deck_id, CASE WHEN r < 0.04 THEN 3 ELSE 2 END,
                       CASE WHEN r < 0.04 THEN 0 END, st, 1 + 9 * random(),
                       lr + st * interval '1 day', lr, 1 + (r * 20)::int, (r * 4)::int, lr - interval '60 days'
                FROM (
                    SELECT learner_id, card_id, deck_id, st, r, now() - random() * 1.3 * st * interval '1 day' AS lr
                    FROM (
                        SELECT u.id AS learner_id, c.id AS card_id, c.deck_id, exp(random() * 6 - 1) AS st,
                               random() AS r
                        FROM lti_ltiuser u CROSS JOIN flashcards_card c
                        WHERE c.id BETWEEN %s AND %s AND u.registration_id = %s
                    ) a
                ) s
                ORDER BY random()
                """,
                [chunk[0], chunk[-1], registration_pk],
            )
            print(f"  loaded cards {index + 1}..{index + len(chunk)} for every learner", flush=True)
        timings["load"] = time.perf_counter() - load
        build = time.perf_counter()
        for _, definition in indexes:
            cur.execute(definition)
        for name, definition in constraints:
            cur.execute(f'ALTER TABLE flashcards_cardstate ADD CONSTRAINT "{name}" {definition}')
        timings["indexes"] = time.perf_counter() - build
        vacuum = time.perf_counter()
        cur.execute("VACUUM ANALYZE flashcards_cardstate")
        cur.execute("ANALYZE lti_ltiuser")
        timings["vacuum"] = time.perf_counter() - vacuum
        cur.execute("SELECT count(*) FROM flashcards_cardstate")
        timings["rows"] = cur.fetchone()[0]
    timings["total"] = time.perf_counter() - started
    return timings


def bench_queue(learner_ids: list[int], decks: list, samples: int = 2000) -> tuple[float, float, float]:  # type: ignore[type-arg]
    """(p50 ms with the composite index, p99 ms, p50 ms without it)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from lms_tool.flashcards import reviews
    from lms_tool.lti.models import LtiUser

    rng = random.Random(1)
    learners = list(LtiUser.objects.filter(pk__in=rng.sample(learner_ids, 200)))

    def run(n: int) -> list[int]:
        times = []
        for _ in range(n):
            learner, deck = rng.choice(learners), rng.choice(decks)
            now = timezone.now()
            t0 = time.perf_counter_ns()
            state = reviews.due_first(deck=deck, learner=learner, now=now)
            times.append(time.perf_counter_ns() - t0)
            assert state is None or state.due <= now
        return times

    def run_sql(n: int) -> list[int]:
        times = []
        with connection.cursor() as cur:
            for _ in range(n):
                learner, deck = rng.choice(learners), rng.choice(decks)
                t0 = time.perf_counter_ns()
                cur.execute(
                    "SELECT id FROM flashcards_cardstate WHERE learner_id = %s AND due <= %s AND deck_id = %s "
                    "ORDER BY due, id LIMIT 1",
                    [learner.pk, timezone.now(), deck.pk],
                )
                cur.fetchone()
                times.append(time.perf_counter_ns() - t0)
        return times

    run(200)  # warm the plan cache and the buffer cache
    ours = run(samples)
    sql_only = run_sql(samples)
    print(f"  the SQL alone (no ORM): p50 {_ms(statistics.median(sql_only)):.3f} ms", flush=True)
    with transaction.atomic():
        with connection.cursor() as cur:
            # Left: the single-column foreign-key indexes Django makes (learner_id, card_id, deck_id).
            cur.execute('DROP INDEX "flashcard_state_queue", "flashcard_state_deck"')
        run(50)
        without = run(min(samples, 300))
        transaction.set_rollback(True)  # the index is back as it was
    return _ms(statistics.median(ours)), _ms(_common.percentile(ours, 99)), _ms(statistics.median(without))


def bench_rating(
    learner_ids: list[int],
    decks: list,
    samples: int = 400,  # type: ignore[type-arg]
    durable: bool = True,
) -> tuple[float, float, float]:
    """(p50 ms of review_record, p99 ms, p50 ms of fsrs review_card alone); ``durable=False`` skips the
    commit's WAL flush (synchronous_commit off), to show what the flush costs."""
    import fsrs
    from django.db import connection

    from lms_tool.flashcards import reviews
    from lms_tool.flashcards.models import CardState
    from lms_tool.lti.models import LtiUser

    rng = random.Random(2 if durable else 3)
    with connection.cursor() as cur:
        cur.execute(f"SET synchronous_commit = {'on' if durable else 'off'}")
    decks_by_pk = {d.pk: d for d in decks}
    picks = []
    for learner_pk in rng.sample(learner_ids, samples):
        state = CardState.objects.filter(learner_id=learner_pk).order_by("?").first()
        picks.append(state)
    learners = LtiUser.objects.in_bulk([s.learner_id for s in picks])
    ours, theirs = [], []
    scheduler = fsrs.Scheduler()
    for state in picks:
        deck, learner = decks_by_pk[state.deck_id], learners[state.learner_id]
        token = reviews.token_make(deck=deck, card=state.card, learner=learner, reps=state.reps)
        rating = rng.choice([1, 3, 3, 3, 4])
        t0 = time.perf_counter_ns()
        reviews.review_record(deck=deck, learner=learner, token=token, rating=rating, duration_ms=5000)
        ours.append(time.perf_counter_ns() - t0)
        card = reviews.to_fsrs(state)
        t0 = time.perf_counter_ns()
        scheduler.review_card(card, fsrs.Rating(rating), review_datetime=datetime.now(UTC))
        theirs.append(time.perf_counter_ns() - t0)
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = on")
    return _ms(statistics.median(ours[20:])), _ms(_common.percentile(ours[20:], 99)), _ms(statistics.median(theirs))


def bench_retrievability(million_learners: list[int]) -> dict[str, float]:
    """numpy over 1M states loaded from the database vs fsrs card by card on the same cards."""
    import fsrs
    import numpy as np

    from lms_tool.flashcards import retention, selectors
    from lms_tool.flashcards.models import CardState

    t0 = time.perf_counter()
    arrays = selectors._arrays(CardState.objects.filter(learner_id__in=million_learners))
    load = time.perf_counter() - t0
    now = datetime.now(UTC)
    at = retention.epoch_us(now)
    decay, factor = retention.decay_factor()
    ours = []
    for _ in range(15):
        t0 = time.perf_counter_ns()
        r = retention.retrievability(arrays.stability, arrays.last_review_us, at, decay, factor)
        ours.append(time.perf_counter_ns() - t0)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    cards = [
        fsrs.Card(
            card_id=int(c),
            state=fsrs.State(int(st)),
            stability=float(s),
            due=now,
            last_review=epoch + timedelta(microseconds=int(lr)),
        )
        for c, st, s, lr in zip(arrays.card, arrays.state, arrays.stability, arrays.last_review_us, strict=True)
    ]
    scheduler = fsrs.Scheduler()
    t0 = time.perf_counter_ns()
    theirs = [scheduler.get_card_retrievability(card, current_datetime=now) for card in cards]
    fsrs_ns = time.perf_counter_ns() - t0
    agree = float(np.max(np.abs(r - np.array(theirs))))
    return {
        "cards": float(len(arrays)),
        "load_s": load,
        "ours_ms": _ms(statistics.median(ours)),
        "fsrs_ms": _ms(fsrs_ns),
        "max_diff": agree,
    }


def main() -> int:
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")):
        print(
            "SKIP bench/flashcards.py: set DATABASE_URL to a PostgreSQL server (it creates its own database "
            f"{DB_NAME} there and drops it at the end)"
        )
        return 0
    os.environ["DB_CONN_MAX_AGE"] = "600"
    with _common.own_database(DB_NAME):
        var_dir = _common.setup_django(prefix="lms-bench-flashcards-")
        try:
            return run()
        finally:
            _common.cleanup(var_dir)


def run() -> int:
    from lms_tool.flashcards.models import Deck
    from lms_tool.lti.models import Context, Deployment, LtiUser, Registration

    print("machine:", _common.machine())
    registration = Registration.objects.create(
        issuer="https://bench.example.edu",
        client_id="bench",
        auth_login_url="https://bench.example.edu/auth",
        auth_token_url="https://bench.example.edu/token",
        key_set_url="https://bench.example.edu/jwks",
    )
    deployment = Deployment.objects.create(registration=registration, deployment_id="d1")
    context = Context.objects.create(registration=registration, deployment=deployment, context_id="c1", title="Bench")
    print(f"generating {LEARNERS} learners x {DECKS * CARDS_PER_DECK} cards ...", flush=True)
    gen = generate(context.pk, registration.pk)
    print(
        f"generated {gen['rows']:.0f} states in {gen['total']:.0f} s (load {gen['load']:.0f} s, indexes and "
        f"constraints {gen['indexes']:.0f} s, vacuum analyze {gen['vacuum']:.0f} s)",
        flush=True,
    )
    learner_ids = list(LtiUser.objects.filter(registration=registration).values_list("pk", flat=True))
    decks = list(Deck.objects.filter(context=context))

    p50, p99, without = bench_queue(learner_ids, decks)
    print(
        f"due queue, one learner and deck: p50 {p50:.3f} ms, p99 {p99:.3f} ms; without the (learner, due) "
        f"index p50 {without:.3f} ms"
    )
    _common.result("flashcards_due_queue_p50_vs_no_composite_index", p50, "ms", without, _common.ratio(without, p50))

    r50, r99, fsrs50 = bench_rating(learner_ids, decks)
    print(
        f"rating end to end (token, lock, fsrs, state, log, commit): p50 {r50:.2f} ms, p99 {r99:.2f} ms; "
        f"fsrs review_card alone {fsrs50:.3f} ms"
    )
    _common.result("flashcards_rating_p50_vs_fsrs_review_card_alone", r50, "ms", fsrs50, _common.ratio(fsrs50, r50))
    n50, _, _ = bench_rating(learner_ids, decks, samples=200, durable=False)
    print(f"rating with synchronous_commit off (no WAL flush at commit; not how the tool runs): p50 {n50:.2f} ms")

    million = learner_ids[: max(1, 1_000_000 // (DECKS * CARDS_PER_DECK))]
    ret = bench_retrievability(million)
    print(
        f"retrievability of {ret['cards']:.0f} cards: numpy {ret['ours_ms']:.2f} ms, fsrs card by card "
        f"{ret['fsrs_ms']:.0f} ms, largest difference {ret['max_diff']:.2e}; loading them from PostgreSQL "
        f"into arrays (COPY BINARY) {ret['load_s']:.2f} s"
    )
    _common.result(
        "flashcards_retrievability_1m_vs_fsrs_card_by_card",
        ret["ours_ms"],
        "ms",
        ret["fsrs_ms"],
        _common.ratio(ret["fsrs_ms"], ret["ours_ms"]),
    )
    _common.print_results()
    return 0


if __name__ == "__main__":
    sys.exit(main())
