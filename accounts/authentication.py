"""JWT authentication: simplejwt's, with the user row read by a statement built once per process."""

from __future__ import annotations

import uuid

# Not gettext_lazy: each message is rendered at once by the exception it goes to, which takes a str.
from django.utils.translation import gettext as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts import selectors
from accounts.models import User
from accounts.services import SESSION_EPOCH_CLAIM
from skillquest.access import request_is_public


class JWTAuthentication(authentication.JWTAuthentication):
    """The same checks as simplejwt's `get_user` (user exists, is active, token not revoked), and
    the token's session epoch (accounts.services.user_sign_out_everywhere).

    simplejwt loads the user with `objects.get()`, whose query compilation costs more CPU than the
    lookup itself on every authenticated request (bench/README.md); `user_by_id` reads the same row.

    On a public operation (`skillquest.access.operation_is_public`) a token that fails any of these
    checks is ignored and the request answered as anonymous: a client holding an expired token can
    still read the boards, and is told to sign in again (401) only where signing in is needed.
    """

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except AuthenticationFailed:  # simplejwt's InvalidToken too
            if request_is_public(request):
                return None
            raise

    # simplejwt types its get_user with a TypeVar that none of its arguments carries: no override fits.
    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        try:
            user_id = uuid.UUID(str(validated_token[api_settings.USER_ID_CLAIM]))
        except (KeyError, ValueError) as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        user = selectors.user_by_id(user_id=user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        if validated_token.get(SESSION_EPOCH_CLAIM, 0) != user.session_epoch:
            raise AuthenticationFailed(_("Signed out everywhere: sign in again."), code="signed_out")
        return user


class JWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme drf-spectacular gives simplejwt's class (`jwtAuth`), for ours."""

    # drf-spectacular takes a class or its dotted path; its own subclass's path narrows the type to str.
    target_class = JWTAuthentication  # type: ignore[assignment]
