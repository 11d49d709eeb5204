from django.urls import re_path

from accounts.api import views

app_name = "auth"

# Both `/auth/login` (the seed's curl session) and `/auth/login/` are accepted.
urlpatterns = [
    re_path(r"^register/?$", views.RegisterView.as_view(), name="register"),
    re_path(r"^login/?$", views.LoginView.as_view(), name="login"),
    re_path(r"^refresh/?$", views.RefreshView.as_view(), name="refresh"),
    re_path(r"^logout/?$", views.LogoutView.as_view(), name="logout"),
    re_path(r"^logout-all/?$", views.LogoutAllView.as_view(), name="logout-all"),
    re_path(r"^password/?$", views.PasswordView.as_view(), name="password"),
    re_path(r"^password-reset/?$", views.PasswordResetView.as_view(), name="password-reset"),
    re_path(
        r"^password-reset/confirm/?$", views.PasswordResetConfirmView.as_view(), name="password-reset-confirm"
    ),
    re_path(r"^verify-email/?$", views.VerifyEmailView.as_view(), name="verify-email"),
    re_path(r"^verify-email/resend/?$", views.VerifyEmailResendView.as_view(), name="verify-email-resend"),
    re_path(r"^me/?$", views.MeView.as_view(), name="me"),
    re_path(r"^me/export/?$", views.MeExportView.as_view(), name="me-export"),
]
