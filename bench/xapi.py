"""xAPI: statements per second to a real LRS (Ralph), sent in batches (one POST of up to 50) against one POST
per statement, in the same run. Needs Ralph in .venv-ralph (`make ralph`); about a minute (`--quick`: 15 s).

    .venv/bin/python bench/xapi.py [--statements 500] [--batch 50] [--quick]

The outbox is filled with ``--statements`` rows (an ``answered`` statement of a quiz attempt, as the tool builds
it, each with its own id and learner), then ``delivery.endpoint_drain`` sends them through ``core.http`` to
``ralph runserver`` (file-system backend) on 127.0.0.1, as the Celery task does. Each way of sending gets its own
fresh Ralph (its file store checks every POST's ids against what it holds, so a fuller store is slower) and
the same number of statements. Reported: statements acknowledged by the LRS per second of draining.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bc


def fill(endpoint, template: dict, count: int, tag: str) -> None:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from lms_tool.xapi.models import Statement

    now = timezone.now()
    rows = []
    for i in range(count):
        statement_id = uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{tag}/{i}")
        body = {**template, "id": str(statement_id)}
        body["actor"] = {**template["actor"], "account": {**template["actor"]["account"], "name": f"learner-{i % 97}"}}
        rows.append(
            Statement(endpoint=endpoint, statement_id=statement_id, verb="answered", body=body, next_attempt_at=now)
        )
    Statement.objects.bulk_create(rows, batch_size=500)


def drain_rate(endpoint, count: int) -> float:  # type: ignore[no-untyped-def]
    from lms_tool.xapi import delivery
    from lms_tool.xapi.models import Statement, StatementState

    started = time.perf_counter()
    while delivery.endpoint_drain(endpoint_pk=endpoint.pk) is not None:
        pass
    elapsed = time.perf_counter() - started
    sent = Statement.objects.filter(endpoint=endpoint, state=StatementState.SENT).count()
    if sent != count:
        raise SystemExit(
            f"only {sent} of {count} statements were sent: {endpoint.statements.exclude(state='sent').first()}"
        )
    return count / elapsed


def template_statement() -> tuple[object, dict]:  # type: ignore[type-arg]
    """A real ``answered`` statement: a quiz attempt recorded by the tool's services."""
    from lms_tool.lti.models import Context, Deployment, LtiUser, Registration, ResourceLink
    from lms_tool.quizzes import services as quizzes
    from lms_tool.quizzes.models import Question
    from lms_tool.xapi import services
    from lms_tool.xapi.models import LrsEndpoint, Statement

    registration = Registration.objects.create(
        issuer="https://lms.bench.example.edu",
        client_id="bench",
        auth_login_url="https://lms.bench.example.edu/auth",
        auth_token_url="https://lms.bench.example.edu/token",
        key_set_url="https://lms.bench.example.edu/jwks",
    )
    deployment = Deployment.objects.create(registration=registration, deployment_id="d-1")
    context = Context.objects.create(registration=registration, deployment=deployment, context_id="c-1", title="Bio")
    link = ResourceLink.objects.create(context=context, resource_link_id="rl-1", title="Heart quiz")
    teacher = LtiUser.objects.create(registration=registration, sub="teacher")
    student = LtiUser.objects.create(registration=registration, sub="student")
    endpoint = services.endpoint_save(
        endpoint=LrsEndpoint(registration=registration, url="http://127.0.0.1:9/xAPI"), key="k", secret="s"
    )
    quiz, run = quizzes.quiz_create(
        context=context,
        user=teacher,
        title="Heart quiz",
        text=(bc.BASE_DIR / "tests/data/heart.md").read_text(),
        count=1,
        types=["single"],
    )
    quizzes.generation_execute(run_id=run.pk)
    quizzes.questions_approve_all(quiz=quiz, user=teacher)
    quizzes.quiz_publish(quiz=quiz, user=teacher)
    quiz.refresh_from_db()
    attempt = quizzes.attempt_start(quiz=quiz, user=student, resource_link=link)
    question = Question.objects.get(pk=attempt.question_ids[0])
    quizzes.attempt_submit(attempt=attempt, responses={question.pk: question.correct})
    body = Statement.objects.get(endpoint=endpoint, verb="answered").body
    Statement.objects.all().delete()
    return endpoint, body


def main() -> None:
    # On PostgreSQL a database of its own, created fresh and dropped at the end (bench/_common.own_database).
    with bc.own_database("lms_xapi_bench"):
        _main()


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=500)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="200 statements")
    args = parser.parse_args()
    count = 200 if args.quick else args.statements

    var_dir = bc.setup_django(prefix="lms-bench-xapi-")
    from django.conf import settings

    settings.AI = {"BASE_URL": "", "MODEL": ""}
    settings.GRADING_PASSBACK_ENABLED = False
    from lms_tool.xapi import services
    from tests.xapi.ralph import PASSWORD, USER, Ralph

    load_before = os.getloadavg()
    endpoint, template = template_statement()
    rates: dict[int, float] = {}
    try:
        for batch in (args.batch, 1):
            ralph = Ralph().start()
            try:
                endpoint.url, endpoint.batch_size = ralph.url, batch
                services.endpoint_save(endpoint=endpoint, key=USER, secret=PASSWORD)
                fill(endpoint, template, count, f"batch-{batch}")
                rates[batch] = drain_rate(endpoint, count)
                stored = len(ralph.statements())
                if stored != count:
                    raise SystemExit(f"Ralph holds {stored} statements, expected {count}")
                print(
                    f"batch of {batch:>3}: {count} statements, {rates[batch]:.0f} statements/s (Ralph holds {stored})"
                )
            finally:
                ralph.stop()
                endpoint.statements.all().delete()
    finally:
        bc.cleanup(var_dir)
    load_after = os.getloadavg()
    print(f"machine: {bc.machine()}")
    print(
        f"load average (1, 5, 15 min): before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
        f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}"
    )
    batched, single = rates[args.batch], rates[1]
    bc.result("xapi_statements_per_second_batched_vs_one_per_post", batched, "statements/s", single, batched / single)
    bc.print_results()


if __name__ == "__main__":
    main()
