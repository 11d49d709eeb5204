from django.urls import re_path

from progress.api import views
from skillquest.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("users", views.UserViewSet, basename="user")

urlpatterns = [
    *router.urls,
    re_path(r"^leaderboard/?$", views.LeaderboardView.as_view(), name="leaderboard"),
]
