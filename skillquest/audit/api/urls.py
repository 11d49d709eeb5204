from skillquest.audit.api import views
from skillquest.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("admin/audit", views.AuditViewSet, basename="audit")

urlpatterns = router.urls
