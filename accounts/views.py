from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView as DjangoLoginView
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.forms import LoginForm, ProfileForm, SignupForm


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("/")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = form.save()
        except ValidationError:
            pass
        else:
            login(request, user, backend="accounts.backends.UsernameOrEmailBackend")
            messages.success(request, f"Welcome to SkillQuest, {user.username}!")
            return redirect("/")
    status = 400 if form.errors else 200
    return render(request, "accounts/signup.html", {"form": form}, status=status)


def with_throttle_status(response, form):
    """A login page refused by the login limits answers 429 with Retry-After, like the API login."""
    wait = getattr(form, "throttle_wait", None)
    if wait:
        response.status_code = 429
        response["Retry-After"] = str(wait)
    return response


class LoginView(DjangoLoginView):
    """The login form, under the same per-IP and per-account limits (and counters) as the API login."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        return with_throttle_status(super().form_invalid(form), form)


def admin_login(request):
    """The admin's own login page, with its form under the login limits (see accounts.admin)."""
    response = admin.site.login(request)
    context = getattr(response, "context_data", None) or {}
    return with_throttle_status(response, context.get("form"))


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request):
    form = ProfileForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            form.save()
        except ValidationError:
            pass
        else:
            messages.success(request, "Profile saved.")
            return redirect("accounts:profile-edit")
    status = 400 if form.errors else 200
    return render(request, "accounts/profile_edit.html", {"form": form}, status=status)


@login_required
@require_http_methods(["POST"])
def logout_all(request):
    """Sign out everywhere (accounts.services.user_sign_out_everywhere), this browser included."""
    services.user_sign_out_everywhere(user=request.user)
    logout(request)
    messages.success(request, "Signed out on every device.")
    return redirect("accounts:login")
