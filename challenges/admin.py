from django import forms
from django.contrib import admin, messages

from challenges import grading, services
from challenges.models import Attempt, Challenge, Tag
from skillquest.audit.admin import AuditedAdmin


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
