from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView as DjangoLoginView
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.emails import services as email_services
from accounts.forms import AccountDeleteForm, LoginForm, PasswordResetRequestForm, ProfileForm, SignupForm
from accounts.personal_data import services as personal_data
from accounts.throttles import VerifyEmailThrottle, password_reset_throttle_wait, throttles_wait
from skillquest.errors import EmailAlreadyVerified, InvalidToken


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
            user = request.user
            if user.pending_email:
                messages.success(request, f"Profile saved. Follow the link we sent to {user.pending_email}.")
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


@require_http_methods(["GET", "POST"])
def password_reset(request):
    """Ask for a reset link: the same page follows for every address (and under the API's limits)."""
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = password_reset_throttle_wait(request)
        if wait:
            form.add_error(None, "Too many reset requests. Try again later.")
            response = render(request, "accounts/password_reset.html", {"form": form}, status=429)
            response["Retry-After"] = str(int(wait))
            return response
        email_services.password_reset_request(email=form.cleaned_data["email"])
        return redirect("accounts:password-reset-sent")
    status = 400 if form.errors else 200
    return render(request, "accounts/password_reset.html", {"form": form}, status=status)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's link check (the token moves out of the URL into the session) and form; the new
    password is set by the same service as the API's, which signs the player out everywhere."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")

    def form_valid(self, form):
        try:
            email_services.password_reset_complete(
                user=form.user, new_password=form.cleaned_data["new_password1"]
            )
        except ValidationError as exc:
            form.add_error("new_password2", exc.message_dict.get("new_password", exc.messages))
            return self.form_invalid(form)
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


@require_http_methods(["GET", "POST"])
def verify_email(request, token: str):
    """A verification link opens a page with a button: a mail scanner that follows links verifies nothing."""
    if request.method == "POST":
        try:
            user = email_services.email_verify(token=token)
        except InvalidToken as exc:
            return render(request, "accounts/verify_email.html", {"error": exc.message}, status=400)
        messages.success(request, f"Thank you: {user.email} is verified.")
        return redirect("/")
    return render(request, "accounts/verify_email.html", {})


@login_required
@require_http_methods(["POST"])
def verify_email_resend(request):
    """The profile's "send the link again", under the API resend's limit."""
    if throttles_wait(request, [VerifyEmailThrottle]):
        messages.error(request, "Too many verification emails asked for. Try again later.")
        return redirect("accounts:profile-edit")
    try:
        email_services.email_verification_resend(user=request.user)
    except EmailAlreadyVerified as exc:
        messages.info(request, exc.message)
    else:
        messages.success(request, f"A verification link is on its way to {request.user.email}.")
    return redirect("accounts:profile-edit")


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request):
    """Delete my account, after the password: erased, signed out everywhere, sent home."""
    form = AccountDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            personal_data.account_delete(user=request.user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            form.add_error("password", exc.message_dict["password"])
        else:
            logout(request)
            messages.success(request, "Your account is deleted. Thank you for playing.")
            return redirect("/")
    status = 400 if form.errors else 200
    return render(request, "accounts/delete.html", {"form": form}, status=status)
