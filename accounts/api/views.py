from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from accounts import services
from accounts.api import serializers as s
from accounts.emails import services as email_services
from accounts.models import User
from accounts.personal_data import services as personal_data
from accounts.personal_data.selectors import export_chunks
from accounts.throttles import (
    LOGIN_THROTTLES,
    PASSWORD_RESET_THROTTLES,
    RegisterThrottle,
    VerifyEmailThrottle,
)
from skillquest.openapi import errors
from skillquest.throttling import AnonThrottle, UserThrottle


def _as_drf_validation_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


class PublicAuthView(APIView):
    """Token endpoints: no authentication, but failures are 401 with a Bearer challenge (not 403)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


class RegisterView(PublicAuthView):
    """Create a player account (then log in for tokens); 400 with the fields' messages if refused."""

    throttle_classes = [AnonThrottle, RegisterThrottle]

    @extend_schema(request=s.RegisterInputSerializer, responses={201: s.UserCreatedSerializer})
    def post(self, request):
        data = s.RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = services.user_register(**data.validated_data)
        except DjangoValidationError as exc:
            raise _as_drf_validation_error(exc)
        return Response(s.UserCreatedSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginView(PublicAuthView):
    """Exchange a username (or email) and password for an access and a refresh token; 401 if wrong."""

    # Checked before the password, so failed and successful attempts both count.
    throttle_classes = [AnonThrottle, *LOGIN_THROTTLES]

    @extend_schema(request=s.LoginInputSerializer, responses={200: s.TokenPairSerializer, **errors(401)})
    def post(self, request):
        data = s.LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid username or password.", code="invalid_credentials")
        return _token_pair(services.tokens_issue(user=user))


def _token_pair(tokens: dict[str, str]) -> Response:
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    return Response({**tokens, "token_type": "bearer", "expires_in": int(lifetime.total_seconds())})


class RefreshView(PublicAuthView):
    """A new access token (and a new refresh token: the old one is revoked) for a refresh token."""

    @extend_schema(
        request=s.RefreshInputSerializer, responses={200: s.RefreshOutputSerializer, **errors(401)}
    )
    def post(self, request):
        data = s.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refresh = TokenRefreshSerializer(data={"refresh": data.validated_data["refresh_token"]})
        try:
            refresh.is_valid(raise_exception=True)
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(str(exc), code="token_not_valid")
        return Response(
            {
                "access_token": refresh.validated_data["access"],
                "refresh_token": refresh.validated_data["refresh"],
            }
        )


class LogoutView(PublicAuthView):
    """Revoke a refresh token (this device signs out); its access token lapses within minutes."""

    @extend_schema(request=s.RefreshInputSerializer, responses={204: None, **errors(401)})
    def post(self, request):
        data = s.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.token_revoke(refresh_token=data.validated_data["refresh_token"])
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(str(exc), code="token_not_valid")
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """Sign out everywhere: every refresh token revoked, older access tokens and sessions refused."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.user_sign_out_everywhere(user=cast(User, request.user))  # IsAuthenticated: a User
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordView(APIView):
    """Change the password: every other device is signed out; this one gets a fresh token pair."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.PasswordChangeInputSerializer, responses={200: s.TokenPairSerializer})
    def post(self, request):
        data = s.PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            tokens = services.user_change_password(user=cast(User, request.user), **data.validated_data)
        except DjangoValidationError as exc:
            raise _as_drf_validation_error(exc)
        return _token_pair(tokens)


RESET_SENT = "If an account uses that address, a link to reset its password is on its way."


class PasswordResetView(PublicAuthView):
    """Ask for a reset link by email. Always 202 with the same answer: nobody learns who has an account."""

    throttle_classes = [AnonThrottle, *PASSWORD_RESET_THROTTLES]

    @extend_schema(request=s.PasswordResetInputSerializer, responses={202: s.DetailSerializer})
    def post(self, request):
        data = s.PasswordResetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email_services.password_reset_request(email=data.validated_data["email"])
        return Response({"detail": RESET_SENT}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(PublicAuthView):
    """Set a new password with the emailed link's uid and token; every session and device is signed out."""

    throttle_classes = [AnonThrottle, *PASSWORD_RESET_THROTTLES]

    @extend_schema(request=s.PasswordResetConfirmInputSerializer, responses={204: None})
    def post(self, request):
        data = s.PasswordResetConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            email_services.password_reset_confirm(
                uidb64=data.validated_data["uid"],
                token=data.validated_data["token"],
                new_password=data.validated_data["new_password"],
            )
        except DjangoValidationError as exc:
            raise _as_drf_validation_error(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VerifyEmailView(PublicAuthView):
    """Follow a verification link: the address it was mailed to is verified (again: no change)."""

    @extend_schema(request=s.VerifyEmailInputSerializer, responses={204: None, **errors(409)})
    def post(self, request):
        data = s.VerifyEmailInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email_services.email_verify(token=data.validated_data["token"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class VerifyEmailResendView(APIView):
    """Mail the signed-in player a fresh verification link; 409 once the address is verified."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [UserThrottle, VerifyEmailThrottle]

    @extend_schema(request=None, responses={202: s.DetailSerializer, **errors(409)})
    def post(self, request):
        user = cast(User, request.user)  # IsAuthenticated: a User
        email_services.email_verification_resend(user=user)
        detail = f"A verification link is on its way to {user.email}."
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


class MeView(generics.RetrieveUpdateAPIView):
    serializer_class = s.MeSerializer
    permission_classes = [IsAuthenticated]
    http_method_names = ["get", "patch", "delete", "head", "options"]

    @extend_schema(request=s.AccountDeleteInputSerializer, responses={204: None})
    def delete(self, request):
        """Delete my account: personal data erased, game records kept anonymised; signs out everywhere."""
        data = s.AccountDeleteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            personal_data.account_delete(
                user=cast(User, request.user), password=data.validated_data["password"]
            )
        except DjangoValidationError as exc:
            raise _as_drf_validation_error(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def get_object(self):
        return self.request.user

    def perform_update(self, serializer):
        try:
            user = cast(User, self.request.user)  # IsAuthenticated: never the anonymous user
            services.user_update_profile(user=user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _as_drf_validation_error(exc)


class MeExportView(APIView):
    """Everything held about me, as one JSON document, streamed (any number of attempts)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        user = cast(User, request.user)  # IsAuthenticated: a User
        response = StreamingHttpResponse(export_chunks(user=user), content_type="application/json")
        stamp = timezone.now().strftime("%Y%m%d")
        response["Content-Disposition"] = f'attachment; filename="skillquest-{user.username}-{stamp}.json"'
        return response
