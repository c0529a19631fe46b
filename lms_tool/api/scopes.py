"""The scopes an API client can be given: one per resource and verb."""

from __future__ import annotations

SCOPES: dict[str, str] = {
    "roster:read": "Read users, courses and enrollments.",
    "pii:read": "See names and emails of users (without it: pseudonymous ids only).",
    "enrollments:write": "Pre-provision and drop enrollments.",
    "assessments:read": "Read quizzes and flashcard decks.",
    "attempts:read": "Read quiz attempts and flashcard review progress.",
    "scores:read": "Read scores with review state and passback status.",
    "scores:write": "Replay dead-lettered scores.",
    "reviews:read": "Read the items waiting for an instructor's review.",
    "reviews:write": "Confirm or override a reviewed score.",
    "deadletters:read": "Read dead-lettered score postings and webhook deliveries.",
    "deadletters:write": "Replay dead-lettered score postings and webhook deliveries.",
    "audit:read": "Read the audit log.",
    "events:read": "Read domain events (what webhooks deliver).",
    "webhooks:read": "Read this client's webhook subscriptions and deliveries.",
    "webhooks:write": "Create, change and delete this client's webhook subscriptions; replay deliveries.",
    "analytics:read": "Read pseudonymous analytics rows (no PII).",
    "privacy:export": "Export everything held about one person.",
    "privacy:erase": "Erase one person's personal data.",
}


def unknown_scopes(scopes: list[str]) -> list[str]:
    return [scope for scope in scopes if scope not in SCOPES]
