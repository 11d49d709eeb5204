from django.urls import path

from progress.pages import events, views

app_name = "progress"

urlpatterns = [
    path("", views.home, name="home"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("events/", events.events, name="events"),
    path("events/<slug:slug>/", events.event_detail, name="event"),
    path("u/<str:username>/", views.profile, name="profile"),
    path("u/<str:username>/follow/", views.follow, name="follow"),
    path("u/<str:username>/unfollow/", views.unfollow, name="unfollow"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("staff/", views.staff_dashboard, name="staff-dashboard"),
    path("staff/recalc/", views.staff_recalc, name="staff-recalc"),
]
