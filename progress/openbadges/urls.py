from django.urls import path

from progress.openbadges import views

app_name = "openbadges"

# The `.png` routes first: `<str:…>` would also match a name ending in ".png".
urlpatterns = [
    path("issuer", views.issuer, name="issuer"),
    path("assertions/<str:token>.png", views.assertion_image, name="assertion-image"),
    path("assertions/<str:token>/badge.png", views.secret_badge_image, name="secret-badge-image"),
    path("assertions/<str:token>/badge", views.secret_badge, name="secret-badge"),
    path("assertions/<str:token>", views.assertion, name="assertion"),
    path("badges/<str:badge_id>.png", views.badge_image, name="badge-image"),
    path("badges/<str:badge_id>", views.badge, name="badge"),
]
