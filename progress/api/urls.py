from progress.api import views
from skillquest.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("users", views.UserViewSet, basename="user")
router.register("leaderboard", views.LeaderboardViewSet, basename="leaderboard")

urlpatterns = router.urls
