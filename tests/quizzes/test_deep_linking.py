"""Deep linking round trip: the picker's signed response is verified by the platform, which gets the line item."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from lms_tool.grading import passback
from lms_tool.grading.models import Score
from lms_tool.lti import claims as c
from lms_tool.lti.deep_linking import activity_proof
from lms_tool.quizzes.models import Attempt, Question
from lms_tool.sandbox.platform import LaunchSpec
from lms_tool.sandbox.services.ags import gradebook
from lms_tool.sandbox.services.deep_linking import deep_linking_log

from ..conftest import registration_of
from ..lti.refusal_cases import OTHER_TOOL, addressed
from .factories import make_quiz
from .flow import return_form, seat


def _pick(tool_url, who, **data):  # type: ignore[no-untyped-def]
    response = who.session.post(f"{tool_url}/quizzes/pick/", data={"launch": who.launch_id, **data}, timeout=10)
    assert response.status_code == 200, response.text[:800]
    return return_form(response.text)


def test_an_instructor_embeds_a_quiz_and_the_platform_verifies_it_and_gets_the_line_item(
    platform, course, instructor, tool_url
):
    teacher = seat(platform, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest"))
    quiz = make_quiz(teacher, count=4)
    points = sum(q.points for q in quiz.questions.approved())

    picker = teacher.session.get(f"{tool_url}/quizzes/pick/", params={"launch": teacher.launch_id}, timeout=10)
    assert picker.status_code == 200 and quiz.title in picker.text
    action, fields = _pick(tool_url, teacher, item=f"quiz:{quiz.pk}")
    back = teacher.session.post(action, data=fields, timeout=10)

    assert back.status_code == 200, back.text
    assert action == platform.base_url + "/deep-link-return"
    log = deep_linking_log(platform)
    assert log.refused == []
    record = log.responses[0]
    item = record["items"][0]
    assert item["type"] == "ltiResourceLink" and item["title"] == quiz.title
    assert item["url"] == f"{tool_url}/lti/launch/"
    # The tool's proof that it issued this activity for this registration travels with it.
    proof = activity_proof(registration_id=registration_of(platform).pk, activity=f"quiz:{quiz.pk}")
    assert item["custom"] == {"activity": f"quiz:{quiz.pk}", "activity_sig": proof}
    assert item["lineItem"] == {
        "scoreMaximum": points,
        "label": quiz.title,
        "resourceId": f"quiz:{quiz.pk}",
        "tag": "quiz",
        # LTI Submission Review 1.0 §3.1: the platform stores it (Moodle's subreviewurl) and links graders to it.
        "submissionReview": {
            "reviewableStatus": ["Submitted", "Completed"],
            "label": "Open in the tool",
            "url": f"{tool_url}/lti/launch/",
            "custom": {"activity": f"quiz:{quiz.pk}", "activity_sig": proof},
        },
    }
    assert record["data"] == teacher.lti.deep_linking_settings["data"]
    assert record["msg"] == f"Added 1 activity: {quiz.title}" and record["log"] == f"deep linking: quiz:{quiz.pk}"
    column = gradebook(platform).item_by_url(record["links"][0]["lineitem_url"])
    assert column is not None
    assert (column["label"], column["scoreMaximum"], column["resourceId"], column["tag"]) == (
        quiz.title,
        points,
        f"quiz:{quiz.pk}",
        "quiz",
    )
    assert column["resourceLinkId"] == record["links"][0]["resource_link_id"]
    header = json.loads(base64.urlsafe_b64decode(fields["JWT"].split(".")[0] + "=="))
    assert header["kid"] in {k["kid"] for k in teacher.session.get(f"{tool_url}/lti/jwks/", timeout=5).json()["keys"]}


def test_a_student_takes_the_embedded_quiz_and_the_score_reaches_the_gradebook(
    canvas, course, instructor, student, tool_url
):
    teacher = seat(canvas, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest"))
    quiz = make_quiz(teacher, count=3, types=["single", "true_false"])
    action, fields = _pick(tool_url, teacher, item=f"quiz:{quiz.pk}")
    teacher.session.post(action, data=fields, timeout=10)
    link = deep_linking_log(canvas).links[0]

    learner = seat(
        canvas,
        LaunchSpec(
            student,
            course,
            resource_link_id=link["resource_link_id"],
            resource_link_title=link["title"],
            custom=link["custom"],
            lineitem_url=link["lineitem_url"],
        ),
    )
    base = f"{tool_url}/quizzes/{quiz.pk}/"
    # The platform's resource link carries custom activity=quiz:<pk>: the launch lands on the quiz.
    assert learner.landing.startswith(base)
    opened = learner.session.get(base, params={"launch": learner.launch_id}, timeout=10)
    assert opened.status_code == 200 and 'data-view="quiz-take"' in opened.text
    started = learner.session.post(f"{base}take/", data={"launch": learner.launch_id}, timeout=10)
    assert 'data-view="attempt"' in started.text
    attempt = Attempt.objects.get(user_id=learner.lti.user_pk)
    answers = {f"q{q.pk}": str(q.correct[0]) for q in Question.objects.filter(pk__in=attempt.question_ids)}
    result = learner.session.post(
        f"{tool_url}/quizzes/attempts/{attempt.pk}/submit/", data={"launch": learner.launch_id, **answers}, timeout=10
    )
    assert 'data-view="result"' in result.text and "3 / 3" in result.text

    score = Score.objects.get(pk=Attempt.objects.get(pk=attempt.pk).score_ref)
    outcome = passback.score_post(score_id=score.pk)

    assert outcome is not None
    posted = gradebook(canvas).result(link["lineitem_url"], student.user_id)
    assert posted is not None and posted["resultScore"] == 3 and posted["resultMaximum"] == 3


def test_several_items_at_once_when_the_platform_accepts_multiple(canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest"))
    first, second = make_quiz(teacher, count=2), make_quiz(teacher, count=2)

    action, fields = _pick(tool_url, teacher, item=[f"quiz:{first.pk}", f"quiz:{second.pk}"])
    teacher.session.post(action, data=fields, timeout=10)

    record = deep_linking_log(canvas).responses[0]
    assert [i["custom"]["activity"] for i in record["items"]] == [f"quiz:{first.pk}", f"quiz:{second.pk}"]
    assert len(record["links"]) == 2 and len(gradebook(canvas).items_in(course.context_id)) == 2


def _single_only(claims):  # type: ignore[no-untyped-def]
    claims[c.DL_SETTINGS]["accept_multiple"] = False
    return claims


def test_one_item_only_when_the_platform_does_not_accept_multiple(canvas, course, instructor, tool_url):
    teacher = seat(
        canvas, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest", claims_hook=_single_only)
    )
    first, second = make_quiz(teacher, count=2), make_quiz(teacher, count=2)

    picker = teacher.session.get(f"{tool_url}/quizzes/pick/", params={"launch": teacher.launch_id}, timeout=10)
    refused = teacher.session.post(
        f"{tool_url}/quizzes/pick/",
        timeout=10,
        data={"launch": teacher.launch_id, "item": [f"quiz:{first.pk}", f"quiz:{second.pk}"]},
    )

    assert 'type="radio"' in picker.text
    assert refused.status_code == 400 and "accepts only one at a time" in refused.text


def test_cancelling_returns_an_errormsg_and_no_items(canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest"))

    action, fields = _pick(tool_url, teacher, cancel="1")
    back = teacher.session.post(action, data=fields, timeout=10)

    record = deep_linking_log(canvas).responses[0]
    assert record["items"] == [] and record["errormsg"] == "No activity was added: the instructor cancelled."
    assert record["errorlog"] and record["msg"] is None
    assert "the instructor cancelled" in back.text


def test_the_platform_refuses_a_response_that_was_tampered_with(canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest"))
    quiz = make_quiz(teacher, count=2)
    action, fields = _pick(tool_url, teacher, item=f"quiz:{quiz.pk}")
    header, payload, signature = fields["JWT"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims[c.DL_CONTENT_ITEMS][0]["lineItem"]["scoreMaximum"] = 1000
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    back = teacher.session.post(action, data={"JWT": f"{header}.{forged}.{signature}"}, timeout=10)

    assert back.status_code == 400
    assert "not verified" in deep_linking_log(canvas).refused[0]
    assert gradebook(canvas).items_in(course.context_id) == []


def test_the_response_claims_follow_the_spec(canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course, message_type="LtiDeepLinkingRequest"))
    quiz = make_quiz(teacher, count=2)

    _, fields = _pick(tool_url, teacher, item=f"quiz:{quiz.pk}")

    claims = jwt.decode(fields["JWT"], options={"verify_signature": False})
    assert claims["iss"] == canvas.client_id and claims["aud"] == canvas.issuer
    assert claims[c.MESSAGE_TYPE] == "LtiDeepLinkingResponse" and claims[c.VERSION] == "1.3.0"
    assert claims[c.DEPLOYMENT_ID] == course.deployment_id
    assert claims["exp"] > claims["iat"] and claims["nonce"]
    assert c.DL_ERRORMSG not in claims


def test_a_launch_addressed_to_several_tools_is_answered_as_our_client_id(canvas, course, instructor, tool_url):
    # The response's issuer comes from the launch's own claims (azp here, LTI core §5.1.2), not from a database read.
    teacher = seat(
        canvas,
        LaunchSpec(
            instructor,
            course,
            message_type="LtiDeepLinkingRequest",
            claims_hook=addressed(lambda ours: [OTHER_TOOL, ours], lambda ours: ours),
        ),
    )
    quiz = make_quiz(teacher, count=2)

    action, fields = _pick(tool_url, teacher, item=f"quiz:{quiz.pk}")
    back = teacher.session.post(action, data=fields, timeout=10)

    assert jwt.decode(fields["JWT"], options={"verify_signature": False})["iss"] == canvas.client_id
    assert back.status_code == 200, back.text
    assert deep_linking_log(canvas).refused == [] and len(deep_linking_log(canvas).responses) == 1


@pytest.mark.parametrize("path", ["/quizzes/pick/", "/quizzes/new/", "/quizzes/review/"])
def test_a_learner_cannot_open_instructor_pages(canvas, course, student, tool_url, path):
    learner = seat(canvas, LaunchSpec(student, course))

    response = learner.session.get(tool_url + path, params={"launch": learner.launch_id}, timeout=10)

    assert response.status_code == 403


def test_the_picker_needs_a_deep_linking_launch(canvas, course, instructor, tool_url):
    teacher = seat(canvas, LaunchSpec(instructor, course))

    response = teacher.session.get(f"{tool_url}/quizzes/pick/", params={"launch": teacher.launch_id}, timeout=10)

    assert response.status_code == 400 and "deep linking" in response.text
