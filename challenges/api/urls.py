from challenges.api import views
from skillquest.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("challenges", views.ChallengeViewSet, basename="challenge")
router.register("tags", views.TagViewSet, basename="tag")
router.register("attempts", views.AttemptViewSet, basename="attempt")

urlpatterns = router.urls
