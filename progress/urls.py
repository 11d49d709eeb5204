from django.urls import path

from progress.pages import events, views

app_name = "progress"

urlpatterns = [
    path("", views.home, name="home"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("events/", events.events, name="events"),
    path("events/<slug:slug>/", events.event_detail, name="event"),
    path("u/<str:username>/", views.profile, name="profile"),
    path("staff/", views.staff_dashboard, name="staff-dashboard"),
    path("staff/recalc/", views.staff_recalc, name="staff-recalc"),
]
