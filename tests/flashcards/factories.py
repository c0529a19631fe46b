"""Factories for flashcard tests: a course with people, decks and cards (no launch needed)."""

from __future__ import annotations

import factory

from lms_tool.flashcards.models import Card, Deck
from lms_tool.lti.models import Context, Deployment, LtiUser, Registration


class RegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Registration

    issuer = factory.Sequence(lambda n: f"https://lms{n}.example.edu")
    client_id = "client-1"
    auth_login_url = "https://lms.example.edu/auth"
    auth_token_url = "https://lms.example.edu/token"
    key_set_url = "https://lms.example.edu/jwks"


class DeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deployment

    registration = factory.SubFactory(RegistrationFactory)
    deployment_id = "deployment-1"


class ContextFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Context

    deployment = factory.SubFactory(DeploymentFactory)
    registration = factory.SelfAttribute("deployment.registration")
    context_id = factory.Sequence(lambda n: f"course-{n}")
    title = "Biology 101"


class LtiUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LtiUser

    registration = factory.SubFactory(RegistrationFactory)
    sub = factory.Sequence(lambda n: f"user-{n}")
    name = factory.Sequence(lambda n: f"Learner {n}")


class DeckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deck

    context = factory.SubFactory(ContextFactory)
    title = factory.Sequence(lambda n: f"Deck {n}")
    status = Deck.Status.PUBLISHED


class CardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Card

    deck = factory.SubFactory(DeckFactory)
    front = factory.Sequence(lambda n: f"Question {n}?")
    back = factory.Sequence(lambda n: f"Answer {n}")
    status = Card.Status.APPROVED
    position = factory.Sequence(lambda n: n)
    tags = factory.LazyFunction(list)


def learner_in(deck: Deck, **kwargs) -> LtiUser:  # type: ignore[no-untyped-def]
    return LtiUserFactory(registration=deck.context.registration, **kwargs)
