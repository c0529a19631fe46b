from django.urls import path

from .views import attempts, authoring, picker, review, timing

app_name = "quizzes"

urlpatterns = [
    path("pick/", picker.pick, name="pick"),
    path("new/", authoring.quiz_new, name="new"),
    path("review/", review.review_queue, name="review"),
    path("accommodations/", timing.accommodations_page, name="accommodations"),
    path("review/<int:answer_id>/", review.review_decide, name="review_decide"),
    path("<int:quiz_id>/", attempts.quiz_open, name="open"),
    path("<int:quiz_id>/manage/", authoring.quiz_manage, name="manage"),
    path("<int:quiz_id>/settings/", authoring.quiz_settings, name="settings"),
    path("<int:quiz_id>/dates/", timing.quiz_dates, name="dates"),
    path("<int:quiz_id>/publish/", authoring.quiz_publish, name="publish"),
    path("<int:quiz_id>/approve-all/", authoring.questions_approve_all, name="approve_all"),
    path("<int:quiz_id>/runs/<int:run_id>/", authoring.run_status, name="run_status"),
    path("<int:quiz_id>/questions/new/", authoring.question_new, name="question_new"),
    path("<int:quiz_id>/questions/<int:question_id>/edit/", authoring.question_edit, name="question_edit"),
    path(
        "<int:quiz_id>/questions/<int:question_id>/<str:action>/",
        authoring.question_action,
        name="question_action",
    ),
    path("<int:quiz_id>/take/", attempts.quiz_take, name="take"),
    path("attempts/<int:attempt_id>/", attempts.attempt_page, name="attempt"),
    path("attempts/<int:attempt_id>/answer/", attempts.answer_autosave, name="answer"),
    path("attempts/<int:attempt_id>/extend/", timing.attempt_extend, name="extend"),
    path("attempts/<int:attempt_id>/submit/", attempts.attempt_submit, name="submit"),
    path("attempts/<int:attempt_id>/result/", attempts.attempt_result, name="result"),
]
