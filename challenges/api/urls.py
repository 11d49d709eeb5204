from challenges.api import ingest, views
from skillquest.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("challenges", views.ChallengeViewSet, basename="challenge")
router.register("tags", views.TagViewSet, basename="tag")
router.register("attempts", views.AttemptViewSet, basename="attempt")
router.register("admin/api-keys", ingest.ApiKeyViewSet, basename="api-key")
router.register("ingest/attempts", ingest.IngestAttemptViewSet, basename="ingest-attempt")

urlpatterns = router.urls
