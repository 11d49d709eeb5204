from __future__ import annotations

import math
from typing import Any, cast

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import User
from accounts.throttles import login_throttle_wait
from accounts.validators import available_timezones, validate_username


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=30, validators=[validate_username], help_text="3-30 letters, digits, . _ -"
    )
    email = forms.EmailField(max_length=254)
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        conflicts = services.user_identity_conflicts(
            username=cleaned.get("username"), email=cleaned.get("email")
        )
        for field, messages in conflicts.items():
            self.add_error(field, messages)
        return cleaned

    def save(self) -> User:
        try:
            return services.user_register(**self.cleaned_data)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
            raise


class ThrottledLoginFormMixin(AuthenticationForm):
    """Counts every submission against the login limits (accounts.throttles) before the password
    is checked; over a limit the form is invalid and `throttle_wait` says for how many seconds.

    An AuthenticationForm itself (the forms below mix it into one and into the admin's subclass of
    one), so that `self.request` and the `super().clean()` it runs first are those of that form.
    """

    throttle_wait: int | None = None

    def clean(self):
        wait = login_throttle_wait(self.request)
        if wait is not None:
            self.throttle_wait = max(1, math.ceil(wait))
            raise ValidationError(
                "Too many login attempts. Try again in %(seconds)s seconds.",
                code="throttled",
                params={"seconds": self.throttle_wait},
            )
        return super().clean()


class LoginForm(ThrottledLoginFormMixin, AuthenticationForm):
    username = forms.CharField(label="Username or email", max_length=254)


class AdminLoginForm(ThrottledLoginFormMixin, AdminAuthenticationForm):
    pass


class ProfileForm(forms.Form):
    email = forms.EmailField(
        max_length=254, help_text="A new address takes effect when you follow the link we send to it."
    )
    current_password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Needed only to change your email address.",
    )
    timezone = forms.ChoiceField(choices=[])
    display_name = forms.CharField(max_length=60, required=False)
    bio = forms.CharField(max_length=280, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    leaderboard_visible = forms.BooleanField(
        required=False,
        label="Show me on public leaderboards",
        help_text="Off: nobody else sees you on any board or friends board; you still see your own rank.",
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        profile = user.profile or {}
        kwargs.setdefault(
            "initial",
            {
                "email": user.email,
                "timezone": user.timezone,
                "display_name": profile.get("display_name", ""),
                "bio": profile.get("bio", ""),
                "leaderboard_visible": user.leaderboard_visible,
            },
        )
        super().__init__(*args, **kwargs)
        timezone = cast(forms.ChoiceField, self.fields["timezone"])  # as declared above
        timezone.choices = [(name, name) for name in sorted(available_timezones())]

    def save(self) -> User:
        data = self.cleaned_data
        profile = {**(self.user.profile or {}), "display_name": data["display_name"], "bio": data["bio"]}
        try:
            return services.user_update_profile(
                user=self.user,
                email=data["email"],
                current_password=data["current_password"],
                timezone=data["timezone"],
                profile=profile,
                leaderboard_visible=data["leaderboard_visible"],
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
            raise


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Your password, to confirm it is you.",
    )
