"""The xAPI vocabulary these statements use (docs/xapi.md, "Vocabulary").

Verbs and activity types are the ADL vocabulary (http://adlnet.gov/expapi/verbs/, .../activities/),
the set the ADL publishes in its xAPI Vocabulary; no cmi5 profile (launches come from LTI, not cmi5's
launch protocol). Progress reuses cmi5's result extension, which LRS dashboards already read. The few
things the vocabulary has no term for (a flashcard's FSRS interval, a grade held for review) are
extensions under this installation's base URL.
"""

from __future__ import annotations

from django.conf import settings

XAPI_VERSION = "1.0.3"

_ADL_VERBS = "http://adlnet.gov/expapi/verbs/"
_ADL_ACTIVITIES = "http://adlnet.gov/expapi/activities/"

# verb short name -> ADL IRI
VERBS = {
    name: _ADL_VERBS + name
    for name in ("launched", "attempted", "answered", "completed", "passed", "failed", "scored", "progressed")
}

COURSE = _ADL_ACTIVITIES + "course"  # the LTI context
LINK = _ADL_ACTIVITIES + "link"  # the LTI resource link a launch opened
ASSESSMENT = _ADL_ACTIVITIES + "assessment"  # a quiz
INTERACTION = _ADL_ACTIVITIES + "cmi.interaction"  # a question, or a flashcard's recall
MODULE = _ADL_ACTIVITIES + "module"  # a flashcard deck

# cmi5 §9.6.3.4 (reused as a plain extension): progress in percent, an integer 0..100.
PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"
# The LTI context the statement happened in, as the platform names it (LTI 1.3 context claim).
LTI_CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"

PLATFORM = "lms_tool (LTI 1.3)"


def base_url() -> str:
    return str(settings.XAPI["ACTIVITY_BASE_URL"]).rstrip("/")


def activity_iri(kind: str, pk: object) -> str:
    return f"{base_url()}/xapi/activities/{kind}/{pk}"


def extension_iri(name: str) -> str:
    return f"{base_url()}/xapi/extensions/{name}"


def verb(name: str) -> dict[str, object]:
    return {"id": VERBS[name], "display": {"en-US": name}}
