"""Analytics: the staff course home, a quiz's results and its item analysis on a large course.

    .venv/bin/python bench/analytics.py [--quick]                       # embedded SQLite under /tmp
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/analytics.py

On PostgreSQL it uses a database of its own, ``wt_analytics_bench`` on DATABASE_URL's server (created fresh,
dropped at the end). The course: 2,000 learners, 20 published quizzes of 6 questions (single and multiple
choice, true/false, short answer), 100,000 submitted attempts (two or three per learner and quiz) with their
600,000 answers, written with ``bulk_create``; the last attempt of each learner and quiz has its gradebook
``Score`` (mostly posted, some waiting, held or dead-lettered). ``--quick``: 200 learners, 10,000 attempts.

Measures, p95 over repeats of the whole page (the view called with a launch, its scope check, queries and
template, as the middleware would hand it over; nothing cached between repeats):

- the staff course home (``/lti/course/``, whose analytics panel lists every quiz and deck with its figures);
- a quiz's results (``/analytics/quizzes/<id>/results/``: every learner aggregated, the first page rendered);
- its item analysis (``/analytics/quizzes/<id>/items/``).

Baseline, in the same run: the straightforward ORM version of the same figures, with per-learner (or
per-attempt) queries. It is timed on a sample (learners or attempts) and extrapolated linearly to the whole
course, so the run stays short; the lines say so.
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import _common

QUICK = "--quick" in sys.argv
LEARNERS = int(os.environ.get("BENCH_ANALYTICS_LEARNERS", 200 if QUICK else 2_000))
QUIZZES = int(os.environ.get("BENCH_ANALYTICS_QUIZZES", 20))
REPEATS = 7 if QUICK else 25
ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


def build() -> dict[str, Any]:
    """The course, written in bulk; returns what the timings need."""
    from lms_tool.grading.models import LineItem, Score
    from lms_tool.lti.models import Context, Deployment, LtiUser, Membership, Registration, ResourceLink
    from lms_tool.quizzes.models import Answer, Attempt, Question, Quiz

    rng = random.Random(16)
    started = time.perf_counter()
    registration = Registration.objects.create(
        issuer="https://bench.example.edu",
        client_id="bench",
        family="canvas",
        auth_login_url="https://bench.example.edu/auth",
        auth_token_url="https://bench.example.edu/token",
        key_set_url="https://bench.example.edu/jwks",
    )
    deployment = Deployment.objects.create(registration=registration, deployment_id="d-1")
    context = Context.objects.create(registration=registration, deployment=deployment, context_id="c-1", title="Big")
    teacher = LtiUser.objects.create(registration=registration, sub="teacher", name="Teacher")
    membership = Membership.objects.create(context=context, user=teacher, roles=[ROLE + "Instructor"])
    learners = LtiUser.objects.bulk_create(
        [LtiUser(registration=registration, sub=f"l{i}", name=f"Learner {i:05d}") for i in range(LEARNERS)],
        batch_size=2000,
    )
    Membership.objects.bulk_create(
        [Membership(context=context, user=u, roles=[ROLE + "Learner"]) for u in learners], batch_size=2000
    )
    ability = {u.pk: rng.gauss(0, 1) for u in learners}
    quizzes, questions = [], {}
    for number in range(QUIZZES):
        quiz = Quiz.objects.create(context=context, title=f"Quiz {number + 1}", status="published", max_attempts=3)
        quizzes.append(quiz)
        made = [
            Question(quiz=quiz, position=1, type="single", prompt="S1", options=["a", "b", "c", "d"], correct=[0]),
            Question(quiz=quiz, position=2, type="single", prompt="S2", options=["a", "b", "c", "d"], correct=[1]),
            Question(quiz=quiz, position=3, type="single", prompt="S3", options=["a", "b", "c", "d"], correct=[2]),
            Question(quiz=quiz, position=4, type="multiple", prompt="M", options=["a", "b", "c", "d"], correct=[0, 2]),
            Question(quiz=quiz, position=5, type="true_false", prompt="T", options=["True", "False"], correct=[0]),
            Question(quiz=quiz, position=6, type="short", prompt="A", answers=["atp"]),
        ]
        for q in made:
            q.status = "approved"
        questions[quiz.pk] = Question.objects.bulk_create(made)
    links = ResourceLink.objects.bulk_create(
        [
            ResourceLink(context=context, resource_link_id=f"rl-{q.pk}", custom={"activity": f"quiz:{q.pk}"})
            for q in quizzes
        ]
    )
    items = LineItem.objects.bulk_create(
        [
            LineItem(resource_link=link, resource_id=f"quiz:{q.pk}", url="")
            for link, q in zip(links, quizzes, strict=True)
        ]
    )
    now = datetime.now(UTC)
    # The gradebook score of each learner's last attempt at each quiz, written first so attempts can point at it.
    states = ["posted"] * 90 + ["pending"] * 5 + ["held"] * 3 + ["dead"] * 2
    scores = Score.objects.bulk_create(
        [
            Score(
                user=u,
                resource_link=link,
                line_item=item,
                score_given=0,
                score_maximum=6,
                activity_progress="Completed",
                grading_progress="FullyGraded",
                timestamp=now,
                source="automatic",
                passback_state=rng.choice(states),
            )
            for link, item in zip(links, items, strict=True)
            for u in learners
        ],
        batch_size=5000,
    )
    score_of = {(s.resource_link_id, s.user_id): s.pk for s in scores}
    attempts: list[Any] = []
    planned: list[list[Any]] = []
    for quiz, link in zip(quizzes, links, strict=True):
        qs = questions[quiz.pk]
        for index, user in enumerate(learners):
            count = 2 + (index + quiz.pk) % 2  # 2.5 attempts per learner and quiz on average
            for number in range(1, count + 1):
                responses = []
                for position, q in enumerate(qs):
                    p = 1 / (1 + math.exp(-(ability[user.pk] + 0.3 * number - 0.25 * position + 0.4)))
                    right = rng.random() < p
                    if q.type == "single":
                        responses.append(
                            (
                                [q.correct[0]] if right else [rng.choice([i for i in range(4) if i != q.correct[0]])],
                                right,
                            )
                        )
                    elif q.type == "multiple":
                        responses.append(([0, 2] if right else [0], right))
                    elif q.type == "true_false":
                        responses.append(([0] if right else [1], right))
                    else:
                        responses.append(("atp" if right else "adp", right))
                total = float(sum(right for _, right in responses))
                start = now - timedelta(days=30) + timedelta(minutes=rng.randrange(40_000))
                attempts.append(
                    Attempt(
                        quiz=quiz,
                        user=user,
                        resource_link=link,
                        number=number,
                        quiz_version=1,
                        question_ids=[q.pk for q in qs],
                        state="submitted",
                        started_at=start,
                        submitted_at=start + timedelta(seconds=rng.randrange(120, 1500)),
                        score=total,
                        score_maximum=6.0,
                        score_ref=score_of[(link.pk, user.pk)] if number == count else None,
                    )
                )
                planned.append(responses)
    attempts = Attempt.objects.bulk_create(attempts, batch_size=5000)
    answers = []
    for attempt, responses in zip(attempts, planned, strict=True):
        for q, (response, right) in zip(questions[attempt.quiz_id], responses, strict=True):
            answers.append(
                Answer(
                    attempt=attempt,
                    question=q,
                    response=response,
                    score=1.0 if right else 0.0,
                    max_score=1.0,
                    graded_by="exact",
                )
            )
        if len(answers) >= 50_000:
            Answer.objects.bulk_create(answers, batch_size=5000)
            answers = []
    Answer.objects.bulk_create(answers, batch_size=5000)
    print(
        f"built: {len(learners)} learners, {len(quizzes)} quizzes, {len(attempts)} attempts, "
        f"{len(attempts) * 6} answers, {len(scores)} scores in {time.perf_counter() - started:.1f} s"
    )
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "registration": registration,
        "deployment": deployment,
        "context": context,
        "teacher": teacher,
        "membership": membership,
        "learners": learners,
        "quiz": quizzes[0],
        "quizzes": quizzes,
    }


def launch_for(world: dict[str, Any]) -> Any:
    from lms_tool.lti.types import LtiLaunch

    return LtiLaunch(
        launch_id="bench-launch",
        claims={
            "https://purl.imsglobal.org/spec/lti/claim/roles": [ROLE + "Instructor"],
            "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
            "iat": time.time(),
        },
        registration_id=world["registration"].pk,
        deployment_pk=world["deployment"].pk,
        user_pk=world["teacher"].pk,
        context_pk=world["context"].pk,
        membership_pk=world["membership"].pk,
    )


def page(world: dict[str, Any], view: Any, path: str, **kwargs: Any) -> float:
    """Milliseconds for one whole page (a fresh launch object: nothing cached from the last repeat)."""
    from django.test import RequestFactory

    request = RequestFactory().get(path, {"launch": "bench-launch"})
    request.lti_launch = launch_for(world)  # type: ignore[attr-defined]
    start = time.perf_counter()
    response = view(request, **kwargs)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, response.content[:500]
    return elapsed


def p95(samples: list[float]) -> float:
    return _common.percentile(samples, 95)


# The straightforward ORM versions: what one would write first, a query (or three) per learner.


def naive_course_home(world: dict[str, Any], sample: list[Any]) -> None:
    from lms_tool.grading.models import Score
    from lms_tool.quizzes.models import Answer, Attempt, Quiz

    for quiz in Quiz.objects.filter(context=world["context"]):
        quiz.questions.filter(is_current=True).count()
        ratios, pending, waiting = [], 0, 0
        for user in sample:
            mine = list(Attempt.objects.filter(quiz=quiz, user=user, state="submitted", is_preview=False))
            ratios += [a.score / a.score_maximum for a in mine if a.score_maximum]
            pending += Answer.objects.filter(attempt__in=mine, needs_review=True, reviewed_at__isnull=True).count()
            last = max(mine, key=lambda a: a.submitted_at) if mine else None
            if last and last.score_ref:
                score = Score.objects.filter(pk=last.score_ref).first()
                waiting += bool(score and score.passback_state in ("pending", "held"))


def naive_results(world: dict[str, Any], sample: list[Any]) -> list[tuple[str, float, float]]:
    from lms_tool.grading.models import Score
    from lms_tool.lti.models import LtiUser
    from lms_tool.quizzes.models import Attempt

    rows = []
    for user in sample:
        person = LtiUser.objects.get(pk=user.pk)
        mine = list(Attempt.objects.filter(quiz=world["quiz"], user=person, state="submitted").order_by("submitted_at"))
        if not mine:
            continue
        last = mine[-1]
        Score.objects.filter(pk=last.score_ref).values_list("passback_state", flat=True).first()
        rows.append((person.name, max(a.score / a.score_maximum for a in mine), last.score / last.score_maximum))
    return rows


def naive_items(world: dict[str, Any], sample: int) -> float:
    """Loads the attempts, then each attempt's answers; ``sample`` attempts only. Returns seconds spent on the
    fixed part (the attempts list), the caller scales the rest."""
    from lms_tool.quizzes.models import Attempt

    start = time.perf_counter()
    attempts = list(Attempt.objects.filter(quiz=world["quiz"], state="submitted", is_preview=False))
    fixed = time.perf_counter() - start
    per_question: dict[int, list[tuple[float, float]]] = {}
    for attempt in attempts[:sample]:
        for answer in attempt.answers.all():
            per_question.setdefault(answer.question_id, []).append((answer.score, attempt.score - answer.score))
    for pairs in per_question.values():  # facility and r, as one would write them
        n = len(pairs)
        mx = sum(x for x, _ in pairs) / n
        mr = sum(r for _, r in pairs) / n
        sxy = sum((x - mx) * (r - mr) for x, r in pairs)
        sxx = sum((x - mx) ** 2 for x, _ in pairs)
        syy = sum((r - mr) ** 2 for _, r in pairs)
        _ = sxy / math.sqrt(sxx * syy) if sxx * syy else None
    return fixed


def _load() -> list[str]:
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def timed(fn: Any, *args: Any) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def slowest(world: dict[str, Any], view: Any, path: str, **kwargs: Any) -> None:
    """How many queries the page makes, and its three slowest (where the time goes)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page(world, view, path, **kwargs)
    print(f"  {len(queries)} queries, {sum(float(q['time']) for q in queries.captured_queries) * 1000:.0f} ms in SQL")
    for q in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]:
        print(f"  {float(q['time']) * 1000:.0f} ms {q['sql'][:150]}")
    if "--explain" in sys.argv and connection.vendor == "postgresql":
        worst = max(queries.captured_queries, key=lambda q: float(q["time"]))
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + worst["sql"])
            print("\n".join("    " + line for (line,) in cursor.fetchall()))


def profile(world: dict[str, Any], view: Any, path: str, **kwargs: Any) -> None:
    import cProfile
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page(world, view, path, **kwargs)
    for q in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:8]:
        print(q["time"], q["sql"][:300])
    print(len(queries), "queries")
    prof = cProfile.Profile()
    prof.enable()
    page(world, view, path, **kwargs)
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


def main() -> None:
    with _common.own_database("wt_analytics_bench") as postgres:
        var_dir = _common.setup_django(prefix="lms-bench-analytics-")
        try:
            run(postgres)
        finally:
            _common.cleanup(var_dir)
    _common.print_results()


def run(postgres: bool) -> None:
    from lms_tool.analytics import views as analytics_views
    from lms_tool.lti import views as lti_views
    from lms_tool.quizzes.models import Attempt

    print("machine:", _common.machine(), "database:", "PostgreSQL" if postgres else "SQLite")
    print("load average before:", _load())
    world = build()
    quiz = world["quiz"]
    n_attempts = Attempt.objects.filter(quiz=quiz).count()
    pages = {
        "course_home": (lti_views.course_home, "/lti/course/", {}),
        "results": (analytics_views.results, f"/analytics/quizzes/{quiz.pk}/results/", {"quiz_id": quiz.pk}),
        "item_analysis": (analytics_views.items, f"/analytics/quizzes/{quiz.pk}/items/", {"quiz_id": quiz.pk}),
    }
    if "--profile" in sys.argv:
        for view, path, kwargs in pages.values():
            profile(world, view, path, **kwargs)
        return
    ours: dict[str, float] = {}
    for name, (view, path, kwargs) in pages.items():
        page(world, view, path, **kwargs)  # warm-up: templates compiled, connections open
        samples = [page(world, view, path, **kwargs) for _ in range(REPEATS)]
        ours[name] = p95(samples)
        print(f"{name}: p95 {ours[name]:.1f} ms, median {sorted(samples)[len(samples) // 2]:.1f} ms over {REPEATS}")
        slowest(world, view, path, **kwargs)

    learners = world["learners"]
    home_sample = learners[:25]
    results_sample = learners[:100]
    item_sample = min(200, n_attempts)
    baseline: dict[str, float] = {}
    runs = 2 if QUICK else 3
    home = [timed(naive_course_home, world, home_sample) * len(learners) / len(home_sample) for _ in range(runs)]
    baseline["course_home"] = max(home) * 1000
    res = [timed(naive_results, world, results_sample) * len(learners) / len(results_sample) for _ in range(runs)]
    baseline["results"] = max(res) * 1000
    item_runs = []
    for _ in range(runs):
        start = time.perf_counter()
        fixed = naive_items(world, item_sample)
        total = time.perf_counter() - start
        item_runs.append((fixed + (total - fixed) * n_attempts / item_sample) * 1000)
    baseline["item_analysis"] = max(item_runs)
    print(
        f"baseline timed on {len(home_sample)} learners (course home), {len(results_sample)} learners (results) and "
        f"{item_sample} of {n_attempts} attempts (item analysis), extrapolated linearly to the whole course; "
        f"the slowest of {runs} runs"
    )
    for name in pages:
        print(f"{name}: ours p95 {ours[name]:.1f} ms, naive ORM (extrapolated) {baseline[name]:.0f} ms")
        label = f"analytics_{name}_p95_vs_naive_orm" + ("_quick" if QUICK else "")
        _common.result(label, ours[name], "ms", baseline[name], _common.ratio(baseline[name], ours[name]))
    print("load average after:", _load())


if __name__ == "__main__":
    main()
