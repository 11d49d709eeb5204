from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from accounts.admin import UserAdmin as AccountsUserAdmin
from accounts.models import User
from progress import jobs
from progress.badges import conditions
from progress.badges import services as badge_services
from progress.events import services as event_services
from progress.ledger.services import GRANT_MAX_AMOUNT, xp_grant
from progress.models import (
    Badge,
    Event,
    EventStanding,
    Quest,
    UserBadge,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    XpEntry,
)
from progress.openbadges.services import badge_award_revoke
from progress.quests import kinds as quest_kinds
from progress.quests import services as quest_services
from progress.quests.selectors import quest_has_rewards
from progress.webhooks import events as webhook_events
from progress.webhooks import services as webhook_services
from progress.webhooks import targets as webhook_targets
from skillquest.audit.admin import AuditedAdmin, ReadOnlyAdmin
from skillquest.audit.services import audit_record
from skillquest.errors import DomainError, InvalidInput, ServiceUnavailable
from skillquest.queue import enqueue_tracked


class BadgeAdminForm(forms.ModelForm):
    class Meta:
        model = Badge
        fields = ["name", "slug", "description", "icon", "condition", "secret", "is_active"]

    def clean_condition(self):
        try:
            return conditions.validate(self.cleaned_data["condition"])
        except conditions.ConditionError as exc:
            raise forms.ValidationError(str(exc))


class ConditionTypeFilter(admin.SimpleListFilter):
    title = "condition type"
    parameter_name = "condition_type"

    def lookups(self, request, model_admin):
        return [(kind, kind) for kind in conditions.REGISTRY]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(condition__type=self.value())
        return queryset


def _schedule(modeladmin, request, user_ids: list) -> None:
    if not user_ids:
        modeladmin.message_user(request, "No players to re-evaluate.", messages.INFO)
    elif jobs.schedule_reevaluate_badges(user_ids):
        audit_record(
            actor=request.user,
            action="badge.reevaluate",
            target_type="accounts.user",
            target_id=str(user_ids[0]) if len(user_ids) == 1 else "",
            changes={"players": len(user_ids)},
        )
        modeladmin.message_user(
            request, f"Badge re-evaluation scheduled for {len(user_ids)} player(s).", messages.SUCCESS
        )
    else:
        modeladmin.message_user(
            request, "Could not schedule the re-evaluation (is Redis up?).", messages.ERROR
        )


@admin.action(description="Re-evaluate badges for the selected players")
def reevaluate_user_badges(modeladmin, request, queryset):
    _schedule(modeladmin, request, list(queryset.values_list("pk", flat=True)))


@admin.register(Badge)
class BadgeAdmin(AuditedAdmin):
    form = BadgeAdminForm
    audit_name = "badge"
    audit_fields = badge_services.AUDITED_FIELDS
    list_display = [
        "name", "icon", "slug", "condition_type", "condition_description", "is_active", "secret", "awarded",
        "earned_by_percent",
    ]  # fmt: skip
    list_filter = ["is_active", "secret", ConditionTypeFilter]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["id", "earned_by_percent", "rarity_refreshed_at", "created_at", "updated_at"]
    actions = ["reevaluate"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(awarded_count=Count("awards"))

    @admin.display(description="awarded", ordering="awarded_count")
    def awarded(self, obj):
        return obj.awarded_count

    @admin.action(description="Re-evaluate badges for every player who lacks one of these")
    def reevaluate(self, request, queryset):
        badge_ids = list(queryset.filter(is_active=True).values_list("pk", flat=True))
        missing_one = User.objects.filter(is_active=True)
        if badge_ids:
            missing_one = missing_one.annotate(
                held=Count("badges", filter=Q(badges__badge_id__in=badge_ids))
            ).filter(held__lt=len(badge_ids))
        else:
            missing_one = missing_one.none()
        _schedule(self, request, list(missing_one.values_list("pk", flat=True)))


class RevokeAwardForm(forms.Form):
    reason = forms.CharField(
        max_length=UserBadge.REVOCATION_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Public: each revoked assertion answers 410 with this reason.",
    )


@admin.action(description="Revoke the selected awards (with a public reason)")
def revoke_awards(modeladmin, request, queryset):
    awards = list(queryset.select_related("user", "badge").order_by("awarded_at"))
    form = RevokeAwardForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        context = {**modeladmin.admin_site.each_context(request), "form": form, "awards": awards}
        return TemplateResponse(request, "admin/progress/revoke_awards.html", context)
    done, refused = [], []
    for award in awards:  # one transaction each, as the API: an award revoked meanwhile is refused alone
        try:
            badge_award_revoke(award_id=award.pk, reason=form.cleaned_data["reason"], actor=request.user)
        except DomainError as exc:
            refused.append(f"{award.user.username} · {award.badge.name}: {exc.message}")
        else:
            done.append(f"{award.user.username} · {award.badge.name}")
    if done:
        modeladmin.message_user(request, f"Revoked: {', '.join(done)}.")
    for message in refused:
        modeladmin.message_user(request, message, messages.ERROR)
    return None


@admin.register(UserBadge)
class UserBadgeAdmin(ReadOnlyAdmin):
    """Read-only: badges are awarded by the rules and revoked by staff with a reason (the award stays,
    with its public assertion answering 410); nothing is deleted, so no award disappears silently."""

    list_display = ["user", "badge", "awarded_at", "revoked_at"]
    list_filter = ["badge", "awarded_at", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "badge__name"]
    list_select_related = ["user", "badge"]
    raw_id_fields = ["user", "badge"]
    readonly_fields = [
        "id", "user", "badge", "awarded_at", "metadata", "assertion_id", "revoked_at", "revoked_by",
        "revocation_reason",
    ]  # fmt: skip
    date_hierarchy = "awarded_at"
    actions = [revoke_awards]


@admin.action(description="Preview recalculating everyone's XP (then apply it from the staff dashboard)")
def recalculate_xp(modeladmin, request, queryset):
    # Recalculation is set-based over every player, so the selection only starts it. A dry run
    # first: the dashboard shows its diff and the button that applies it.
    try:
        job_id = enqueue_tracked(jobs.recalculate_xp, True, str(request.user.pk))
    except ServiceUnavailable as exc:
        modeladmin.message_user(request, exc.message, messages.ERROR)
        return None
    return redirect(reverse("progress:staff-dashboard") + f"?job={job_id}#recalc")


class GrantXpForm(forms.Form):
    amount = forms.IntegerField(
        min_value=-GRANT_MAX_AMOUNT,
        max_value=GRANT_MAX_AMOUNT,
        help_text="Positive grants, negative revokes.",
    )
    reason = forms.CharField(max_length=XpEntry.REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_amount(self):
        if self.cleaned_data["amount"] == 0:
            raise forms.ValidationError("Must not be 0.")
        return self.cleaned_data["amount"]


@admin.action(description="Grant or revoke XP (with a reason shown to the player)")
def grant_or_revoke_xp(modeladmin, request, queryset):
    players = list(queryset.order_by("username"))
    form = GrantXpForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        context = {**modeladmin.admin_site.each_context(request), "form": form, "players": players}
        return TemplateResponse(request, "admin/progress/grant_xp.html", context)
    done, refused = [], []
    for player in players:  # one transaction each: a refusal for one player leaves the others granted
        try:
            xp_grant(user_id=player.pk, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            refused.append(f"{player.username}: {exc.message}")
        else:
            done.append(player.username)
    if done:
        modeladmin.message_user(request, f"{form.cleaned_data['amount']:+d} XP for {', '.join(done)}.")
    for message in refused:
        modeladmin.message_user(request, message, messages.ERROR)
    return None


# The accounts app must not depend on progress, so progress adds its actions to the user admin here.
class PlayerAdmin(AccountsUserAdmin):
    actions = [*AccountsUserAdmin.actions, reevaluate_user_badges, recalculate_xp, grant_or_revoke_xp]


@admin.register(XpEntry)
class XpEntryAdmin(ReadOnlyAdmin):
    """Read-only: the ledger is append-only (the database refuses changes); correct with a grant."""

    list_display = ["created_at", "user", "amount", "kind", "reason", "actor"]
    list_filter = ["kind", "created_at"]
    search_fields = ["user__username", "reason", "idempotency_key"]
    list_select_related = ["user", "actor"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in XpEntry._meta.fields]
    show_full_result_count = False  # no COUNT(*) over millions of entries on every page


admin.site.unregister(User)
admin.site.register(User, PlayerAdmin)


class EventAdminForm(forms.ModelForm):
    """The API's rules, asked of the same service (`event_validate`), so a bad window, an overlap or a
    change to a started event is a form error here rather than a refusal after saving."""

    class Meta:
        model = Event
        fields = ["name", "slug", "description", "starts_at", "ends_at", "xp_multiplier", "challenges"]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        # The fields the form holds (a started event's fixed ones are read-only, so not among them).
        fields = {name: value for name, value in cleaned.items() if name != "challenges"}
        if "challenges" in cleaned:
            fields["challenge_ids"] = [challenge.pk for challenge in cleaned["challenges"]]
        if self.errors:
            return cleaned
        try:
            event_services.event_validate(
                event=None if self.instance._state.adding else self.instance,
                fields=fields,
                now=timezone.now(),
            )
        except InvalidInput as exc:
            field = "challenges" if exc.field == "challenge_ids" else exc.field
            self.add_error(field if field in self.fields else None, exc.message)
        except DomainError as exc:
            raise forms.ValidationError(exc.message)
        return cleaned


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Events, saved through `progress.events.services` (which audits them and schedules the freeze).

    A started event shows its start, challenges and multiplier read-only; an ended one is read-only
    throughout; only an event that has not started can be deleted.
    """

    form = EventAdminForm
    list_display = ["name", "slug", "starts_at", "ends_at", "xp_multiplier", "state", "frozen_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["challenges"]
    readonly_fields = ["id", "frozen_at", "created_at", "updated_at"]
    date_hierarchy = "starts_at"

    @admin.display(description="state")
    def state(self, obj: Event) -> str:
        return obj.state

    def get_readonly_fields(self, request, obj=None):
        fixed = []
        if obj is not None and obj.state != Event.State.UPCOMING:
            fixed = ["starts_at", "challenges", "xp_multiplier"]
        return [*self.readonly_fields, *fixed]

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if obj is None else {}

    def has_change_permission(self, request, obj=None):
        if obj is not None and (obj.state == Event.State.ENDED or obj.frozen_at is not None):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.state != Event.State.UPCOMING:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # "Delete selected" would skip the per-event rule above.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        # Every field the form holds (read-only ones are not in it); the service tells what changed.
        fields = {name: value for name, value in form.cleaned_data.items() if name != "challenges"}
        if "challenges" in form.cleaned_data:
            fields["challenge_ids"] = [challenge.pk for challenge in form.cleaned_data["challenges"]]
        if change:
            saved = event_services.event_update(event=obj, actor=request.user, **fields)
        else:
            saved = event_services.event_create(actor=request.user, **fields)
        obj.pk, obj.slug = saved.pk, saved.slug
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        # The service has set the challenges; the form's own m2m save would only repeat it.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        event_services.event_delete(event=obj, actor=request.user)


@admin.register(EventStanding)
class EventStandingAdmin(ReadOnlyAdmin):
    """Read-only: an event's final standings are written once, by the freeze."""

    list_display = ["event", "rank", "user", "xp", "level"]
    list_filter = ["event"]
    search_fields = ["user__username", "event__name"]
    list_select_related = ["event", "user"]


class QuestAdminForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=quest_kinds.KIND_CHOICES)

    class Meta:
        model = Quest
        fields = ["name", "description", "kind", "params", "reward_xp", "active"]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if "kind" in cleaned and "params" in cleaned:
            try:
                cleaned["params"] = quest_services.quest_validated(cleaned["kind"], cleaned["params"])
            except InvalidInput as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return cleaned


@admin.register(Quest)
class QuestAdmin(AuditedAdmin):
    form = QuestAdminForm
    audit_name = "quest"
    audit_fields = quest_services.AUDITED_FIELDS
    list_display = ["name", "kind", "summary", "reward_xp", "active", "updated_at"]
    list_filter = ["active", "kind"]
    search_fields = ["name", "description"]
    readonly_fields = ["id", "created_at", "updated_at"]

    def has_delete_permission(self, request, obj=None):
        # A quest that has paid is deactivated instead (the ledger's PROTECT also refuses it).
        if obj is not None and quest_has_rewards(quest_id=obj.pk):
            return False
        return super().has_delete_permission(request, obj)


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=[(name, f"{name}: {what}") for name, what in webhook_events.TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "events", "description", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            webhook_targets.resolve(url)
        except DomainError as exc:
            raise forms.ValidationError(exc.message)
        return url


@admin.action(description="Send a test event")
def send_test_event(modeladmin, request, queryset):
    for endpoint in queryset:
        try:
            webhook_services.endpoint_send_test(endpoint=endpoint, actor=request.user)
        except DomainError as exc:
            modeladmin.message_user(request, f"{endpoint.url}: {exc.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"Test event queued for {endpoint.url}.", messages.SUCCESS)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Endpoints go through progress.webhooks.services: the URL is checked (SSRF), the change audited,
    the subscriptions cache cleared. The secret is shown once, in the message after creating."""

    form = WebhookEndpointForm
    list_display = ["url", "active", "events", "consecutive_failures", "disabled_reason", "created_at"]
    list_filter = ["active"]
    readonly_fields = ["consecutive_failures", "disabled_reason", "disabled_at", "created_at", "updated_at"]
    actions = [send_test_event]

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in ("url", "events", "description", "active")}
        if change:
            saved = webhook_services.endpoint_update(endpoint=obj, actor=request.user, **fields)
        else:
            saved = webhook_services.endpoint_create(actor=request.user, **fields)
            self.message_user(
                request,
                f"Signing secret (shown only now; the receiver verifies with it): {saved.secret}",
                messages.WARNING,
            )
        # The admin goes on with its own instance (history, the redirect): it names the saved row.
        obj.pk, obj.secret, obj._state.adding = saved.pk, saved.secret, False

    def delete_model(self, request, obj):
        webhook_services.endpoint_delete(endpoint=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            webhook_services.endpoint_delete(endpoint=endpoint, actor=request.user)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("started_at", "succeeded", "response_status", "latency_ms", "error", "next_retry_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.action(description="Redeliver (same webhook-id, fresh retry schedule)")
def redeliver(modeladmin, request, queryset):
    done = 0
    for delivery in queryset:
        try:
            webhook_services.delivery_redeliver(delivery=delivery, actor=request.user)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"Delivery {delivery.pk}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{done} delivery(ies) queued again.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: each event to each endpoint, with every attempt (status, latency, error, next
    retry). Read-only but for the redeliver action."""

    list_display = [
        "id",
        "endpoint",
        "event",
        "status",
        "failed_attempts",
        "response_status",
        "next_attempt_at",
    ]
    list_filter = ["status", "endpoint"]
    list_select_related = ["endpoint", "event"]
    readonly_fields = [
        "event", "endpoint", "status", "failed_attempts", "next_attempt_at", "last_attempt_at",
        "response_status", "error", "created_at", "delivered_at",
    ]  # fmt: skip
    inlines = [WebhookAttemptInline]
    actions = [redeliver]
    show_full_result_count = False
