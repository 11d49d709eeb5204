"""GET /api/v1/admin/audit: the audit log for staff, newest first, filtered by action, actor, target."""

from __future__ import annotations

import django_filters
from rest_framework import mixins, permissions, serializers, viewsets

from skillquest.audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id", "created_at", "actor_id", "actor_username", "action", "target_type", "target_id",
            "changes", "request_id",
        ]  # fmt: skip
        read_only_fields = fields


class AuditFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(max_length=64, help_text="Exact action, e.g. xp.grant.")
    actor = django_filters.UUIDFilter(field_name="actor_id", help_text="The staff user's id.")
    target_id = django_filters.CharFilter(max_length=64)

    class Meta:
        model = AuditEntry
        fields = ["action", "actor", "target_id"]


class AuditViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every staff action that changed state, newest first. Staff only."""

    permission_classes = [permissions.IsAdminUser]
    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilter
    queryset = AuditEntry.objects.order_by("-created_at", "-id")
