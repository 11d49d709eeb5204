from django import forms
from django.contrib import admin, messages
from rest_framework_api_key.models import APIKey

from challenges import grading, services
from challenges.ingest import services as ingest_services
from challenges.models import ApiKey, ApiKeyScope, Attempt, Challenge, Tag
from skillquest.audit.admin import AuditedAdmin
from skillquest.audit.services import audit_changes


class ChallengeAdminForm(forms.ModelForm):
    class Meta:
        model = Challenge
        fields = [
            "title",
            "slug",
            "description",
            "xp",
            "difficulty",
            "tags",
            "pass_score",
            "grading",
            "published",
        ]

    def clean_grading(self):
        value = self.cleaned_data["grading"]
        try:
            return grading.validate_config(value)
        except grading.GradingConfigError as exc:
            raise forms.ValidationError(str(exc))


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Challenge)
class ChallengeAdmin(AuditedAdmin):
    form = ChallengeAdminForm
    audit_name = "challenge"
    audit_fields = services.AUDITED_FIELDS
    list_display = ["title", "difficulty", "xp", "pass_score", "grading_type", "published", "updated_at"]
    list_filter = ["published", "difficulty", "tags"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["tags"]
    readonly_fields = ["id", "created_by", "created_at", "updated_at"]
    actions = ["publish", "unpublish"]

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Publish selected challenges")
    def publish(self, request, queryset):
        count = services.challenge_set_published(
            challenge_ids=list(queryset.values_list("pk", flat=True)), published=True, actor=request.user
        )
        self.message_user(request, f"{count} challenge(s) published.", messages.SUCCESS)

    @admin.action(description="Unpublish selected challenges")
    def unpublish(self, request, queryset):
        count = services.challenge_set_published(
            challenge_ids=list(queryset.values_list("pk", flat=True)), published=False, actor=request.user
        )
        self.message_user(request, f"{count} challenge(s) unpublished.", messages.SUCCESS)


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "challenge", "status", "score", "xp_awarded", "submitted_at", "awarded_at"]
    list_filter = ["status", "challenge__difficulty"]
    search_fields = ["user__username", "challenge__title", "id"]
    list_select_related = ["user", "challenge"]
    raw_id_fields = ["user", "challenge"]
    readonly_fields = [
        "id", "user", "challenge", "status", "score", "xp_awarded", "awarded_at",
        "started_at", "submitted_at", "metadata",
    ]  # fmt: skip
    date_hierarchy = "started_at"

    def has_add_permission(self, request):
        return False


# The package's own key model is unused: its admin would only show an empty table beside ours.
admin.site.unregister(APIKey)


class ApiKeyAdminForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiKeyScope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "expiry_date"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Issue a key (the secret is shown once, in the message after saving), rename it, change its scopes
    or expiry, or revoke it with the action. Every change is audited."""

    form = ApiKeyAdminForm
    list_display = ["prefix", "name", "scopes", "created", "created_by", "expiry_date", "revoked"]
    list_filter = ["revoked", "created"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return ["prefix", "created_by", "revoked", "revoked_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted: the ingested attempts point at their key

    def save_model(self, request, obj, form, change):
        if not change:
            secret = ingest_services.api_key_issue(api_key=obj, actor=request.user)
            self.message_user(
                request,
                f"The API key for {obj.name} is: {secret} — store it now: it will not be shown again.",
                messages.WARNING,
            )
            return
        stored = ApiKey.objects.get(pk=obj.pk)
        with audit_changes(
            actor=request.user,
            action="api_key.update",
            instance=stored,
            fields=("name", "scopes", "expiry_date"),
        ):
            for name in ("name", "scopes", "expiry_date"):
                setattr(stored, name, getattr(obj, name))
            stored.save()

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request, queryset):
        revoked = 0
        for api_key in queryset.filter(revoked=False):
            ingest_services.api_key_revoke(api_key=api_key, actor=request.user)
            revoked += 1
        self.message_user(request, f"{revoked} API key(s) revoked.", messages.SUCCESS)
