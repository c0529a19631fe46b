from django.urls import path

from . import views, views_dates, views_review

app_name = "flashcards"

urlpatterns = [
    path("decks/", views.deck_list, name="deck_list"),
    path("decks/<int:pk>/", views.deck_detail, name="deck_detail"),
    path("decks/<int:pk>/settings", views.deck_settings, name="deck_settings"),
    path("decks/<int:pk>/dates", views_dates.deck_dates, name="deck_dates"),
    path("decks/<int:pk>/publish", views.deck_publish, name="deck_publish"),
    path("decks/<int:pk>/cards/new", views.card_add, name="card_add"),
    path("decks/<int:pk>/cards/<int:card_pk>/edit", views.card_edit, name="card_edit"),
    path("decks/<int:pk>/cards/review", views.cards_review, name="cards_review"),
    path("decks/<int:pk>/generate", views.deck_generate, name="deck_generate"),
    path("decks/<int:pk>/import", views.deck_import, name="deck_import"),
    path("decks/<int:pk>/export", views.deck_export, name="deck_export"),
    path("decks/<int:pk>/analytics", views.deck_analytics, name="deck_analytics"),
    path("analytics/", views.course_analytics, name="course_analytics"),
    path("decks/<int:pk>/review/", views_review.review, name="review"),
    path("decks/<int:pk>/review/rate", views_review.review_rate, name="review_rate"),
    path("progress/", views_review.progress, name="progress"),
]
