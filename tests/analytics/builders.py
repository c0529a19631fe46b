"""A quiz with hand-made questions, and learners who take it through the real attempt services."""

from __future__ import annotations

from typing import Any

from lms_tool.lti.models import Context, LtiUser, Membership, ResourceLink
from lms_tool.quizzes import services
from lms_tool.quizzes.models import Attempt, Question, Quiz

ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


def quiz_with(
    context: Context, questions: list[dict[str, Any]], *, title: str = "Cells", max_attempts: int = 1
) -> Quiz:
    quiz = Quiz.objects.create(context=context, title=title, status=Quiz.Status.PUBLISHED, max_attempts=max_attempts)
    for position, fields in enumerate(questions, start=1):
        Question.objects.create(
            quiz=quiz, position=position, status=Question.Status.APPROVED, prompt=f"Question {position}", **fields
        )
    return quiz


def learner(context: Context, name: str) -> LtiUser:
    user = LtiUser.objects.create(registration=context.registration, sub=f"sub-{name}", name=name)
    Membership.objects.create(context=context, user=user, roles=[ROLE + "Learner"])
    return user


def take(quiz: Quiz, user: LtiUser, link: ResourceLink | None, responses: list[Any]) -> Attempt:
    """Start and submit an attempt with one response per question, in the quiz's order."""
    attempt = services.attempt_start(quiz=quiz, user=user, resource_link=link)
    by_position = dict(zip(attempt.question_ids, responses, strict=True))
    return services.attempt_submit(attempt=attempt, responses=by_position)


# The worked example of docs/analytics.md: six learners, three one-point questions.
# Question 2 is a single choice keyed "Mitochondria" (option 0).
WORKED = {
    "Ann": [True, 0, "ribosome"],
    "Ben": [True, 0, "wrong"],
    "Cai": [True, 1, "ribosome"],
    "Dee": [False, 0, "wrong"],
    "Eva": [True, 2, "wrong"],
    "Fin": [False, 1, "wrong"],
}
WORKED_QUESTIONS: list[dict[str, Any]] = [
    {"type": "true_false", "options": ["True", "False"], "correct": [0]},
    {"type": "single", "options": ["Mitochondria", "Nucleus", "Golgi body", "Vacuole"], "correct": [0]},
    {"type": "short", "answers": ["ribosome"]},
]


def worked_example(context: Context, link: ResourceLink | None) -> Quiz:
    quiz = quiz_with(context, WORKED_QUESTIONS, title="Worked example")
    for name, (truth, option, short) in WORKED.items():
        take(quiz, learner(context, name), link, [0 if truth else 1, option, short])
    return quiz


def wrong_key_quiz(context: Context, link: ResourceLink | None) -> Quiz:
    """Twelve learners; question 2's key says "Nucleus" but the strong learners answer "Mitochondria"."""
    quiz = quiz_with(
        context,
        [
            {"type": "single", "options": ["A", "B", "C"], "correct": [0]},
            {"type": "single", "options": ["Mitochondria", "Nucleus", "Golgi body", "Vacuole"], "correct": [1]},
            {"type": "true_false", "options": ["True", "False"], "correct": [0]},
            {"type": "short", "answers": ["atp"]},
            {"type": "numeric", "numeric_answer": 42},
        ],
        title="Energy",
    )
    strong = [[0, 0, 0, "atp", "42"]] * 6
    weak = [
        [1, 1, 0, "no", "7"],
        [2, 1, 0, "no", "7"],
        [1, 2, 0, "atp", "7"],
        [0, 1, 0, "x", "7"],
        [2, 1, 0, "y", "7"],
        [1, 1, 0, "z", "7"],
    ]
    for number, responses in enumerate(strong + weak):
        take(quiz, learner(context, f"L{number:02d}"), link, responses)
    return quiz
