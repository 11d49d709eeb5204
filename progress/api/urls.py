from django.urls import re_path

from progress.api import admin_views, catalog, events, quests, views, webhooks
from skillquest.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("users", views.UserViewSet, basename="user")
router.register("admin", admin_views.AdminViewSet, basename="admin")
router.register("admin/catalog", catalog.CatalogViewSet, basename="admin-catalog")
router.register("admin/webhooks", webhooks.WebhookViewSet, basename="webhook")
router.register("badges", views.BadgeViewSet, basename="badge")
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("events", events.EventViewSet, basename="event")
router.register("quests", quests.QuestViewSet, basename="quest")

urlpatterns = [
    *router.urls,
    re_path(r"^leaderboard/?$", views.LeaderboardView.as_view(), name="leaderboard"),
    re_path(r"^live/ticket/?$", views.LiveTicketView.as_view(), name="live-ticket"),
]
