from django.urls import path

from challenges import views

app_name = "challenges"

urlpatterns = [
    path("", views.challenge_list, name="list"),
    path("<slug:slug>/", views.challenge_detail, name="detail"),
    path("<slug:slug>/start/", views.attempt_start, name="start"),
    path("<slug:slug>/submit/", views.attempt_submit, name="submit"),
]
