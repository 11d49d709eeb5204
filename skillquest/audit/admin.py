from __future__ import annotations

from django.contrib import admin

from skillquest.audit.models import AuditEntry
from skillquest.audit.services import audit_deleted, audit_record, changes_between, snapshot


class ReadOnlyAdmin(admin.ModelAdmin):
    """History shown, never edited in the admin: the audit log, the XP ledger."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Read-only: the log of what staff did."""

    list_display = ["created_at", "actor_username", "action", "target_type", "target_id", "request_id"]
    list_filter = ["action", "target_type", "created_at"]
    search_fields = ["actor_username", "target_id", "request_id"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditEntry._meta.fields]
    show_full_result_count = False


class AuditedAdmin(admin.ModelAdmin):
    """A model admin whose saves and deletes are audited as `<audit_name>.create|update|delete`.

    The admin's own saves bypass the services (which audit the API's), so they are recorded here,
    inside the transaction the admin wraps each change in. Updates are recorded after the related
    (many-to-many) fields are saved, so a change of tags is part of the same entry.
    """

    audit_name = ""
    audit_fields: tuple[str, ...] = ()

    def save_model(self, request, obj, form, change):
        stored = type(obj).objects.filter(pk=obj.pk).first() if change else None
        request._audit_before = snapshot(stored, self.audit_fields) if stored else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before = getattr(request, "_audit_before", {})
        changes = changes_between(before, snapshot(form.instance, self.audit_fields))
        if changes or not change:
            action = f"{self.audit_name}.{'update' if change else 'create'}"
            audit_record(actor=request.user, action=action, target=form.instance, changes=changes)

    def delete_model(self, request, obj):
        self._audit_delete(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        self._audit_delete(request, list(queryset))
        super().delete_queryset(request, queryset)

    def _audit_delete(self, request, objs) -> None:
        for obj in objs:
            audit_deleted(
                actor=request.user, action=f"{self.audit_name}.delete", instance=obj, fields=self.audit_fields
            )
