from progress.api import views
from skillquest.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("users", views.UserViewSet, basename="user")
router.register("badges", views.BadgeViewSet, basename="badge")

urlpatterns = router.urls
