from django.urls import path

from progress import views

app_name = "progress"

urlpatterns = [
    path("", views.home, name="home"),
    path("u/<str:username>/", views.profile, name="profile"),
    path("staff/", views.staff_dashboard, name="staff-dashboard"),
]
