from __future__ import annotations

import math

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView as DjangoLoginView
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import LoginForm, ProfileForm, SignupForm
from skillquest.throttling import login_throttle_wait


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


class LoginView(DjangoLoginView):
    """The login form, under the same per-IP and per-username limits (and counters) as the API login."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        wait = login_throttle_wait(request)
        if wait is None:
            return super().post(request, *args, **kwargs)
        # The password is not checked at all while the limit holds.
        seconds = max(1, math.ceil(wait))
        form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")})
        form.refuse(f"Too many login attempts. Try again in {seconds} seconds.")
        response = self.render_to_response(self.get_context_data(form=form))
        response.status_code = 429
        response["Retry-After"] = str(seconds)
        return response


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
