from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.template.response import TemplateResponse

from accounts.forms import AdminLoginForm
from accounts.models import User
from accounts.personal_data.services import account_erase
from accounts.signals import leaderboard_visibility_changed
from skillquest.errors import DomainError

# The admin login counts against the same login limits as the API and the login page.
admin.site.login_form = AdminLoginForm


class EraseAccountsForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept in the audit log."
    )


@admin.action(description="Erase accounts (personal data removed, game records kept anonymised)")
def erase_accounts(modeladmin, request, queryset):
    players = list(queryset.order_by("username"))
    form = EraseAccountsForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        context = {**modeladmin.admin_site.each_context(request), "form": form, "players": players}
        return TemplateResponse(request, "admin/accounts/erase_accounts.html", context)
    erased = []
    for player in players:  # one transaction each
        if player.pk == request.user.pk:
            modeladmin.message_user(request, "You cannot erase your own account here.", messages.ERROR)
            continue
        try:
            account_erase(user=player, actor=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            modeladmin.message_user(request, f"{player.username}: {exc.message}", messages.ERROR)
        else:
            erased.append(player.username)
    if erased:
        modeladmin.message_user(request, f"Erased {len(erased)} account(s): {', '.join(erased)}.")
    return None


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    actions = [erase_accounts]
    list_display = ["username", "email", "total_xp", "level", "is_staff", "is_active", "created_at"]
    list_filter = ["is_staff", "is_superuser", "is_active", "level", "created_at"]
    search_fields = ["username", "email"]
    ordering = ["-total_xp", "username"]
    readonly_fields = ["id", "created_at", "last_login", "date_joined", "total_xp", "level"]
    fieldsets = [
        (None, {"fields": ["id", "username", "password"]}),
        ("Contact", {"fields": ["email", "first_name", "last_name", "timezone", "profile"]}),
        ("Progress", {"fields": ["total_xp", "level"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined", "created_at"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["username", "email", "password1", "password2"]})]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data:
            # Boards list active players only: a deactivated player leaves them, a reactivated one
            # comes back (progress does it once this commits, as when a player opts out or in).
            leaderboard_visibility_changed.send(
                sender=User,
                user_id=obj.pk,
                username=obj.username,
                visible=obj.is_active and obj.leaderboard_visible,
            )
