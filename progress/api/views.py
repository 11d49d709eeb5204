from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import User
from progress import selectors
from progress.api import serializers as s
from skillquest.errors import NotFound


def parse_user_id(pk: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(pk))
    except ValueError:
        raise NotFound("User not found.", code="user_not_found")


class UserViewSet(viewsets.GenericViewSet):
    """Public progress of any player: no private fields (email, solutions) are exposed."""

    permission_classes = [permissions.AllowAny]
    serializer_class = s.ProgressSerializer
    # Only gives the schema the type of `{id}` (a UUID); the actions read through selectors.
    queryset = User.objects.none()

    @extend_schema(responses={200: s.ProgressSerializer})
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        data = selectors.user_progress(user_id=parse_user_id(pk))
        return Response(s.ProgressSerializer(data).data)
