from django.urls import path

from . import views

urlpatterns = [
    path("quizzes/<int:quiz_id>/results/", views.results, name="results"),
    path("quizzes/<int:quiz_id>/results.csv", views.results_csv, name="results_csv"),
    path("quizzes/<int:quiz_id>/items/", views.items, name="items"),
    path("quizzes/<int:quiz_id>/preview/", views.preview, name="preview"),
    path("quizzes/<int:quiz_id>/questions/<int:question_id>/regrade/", views.regrade, name="regrade"),
]
