from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.forms import AdminLoginForm
from accounts.models import User

# The admin login counts against the same login limits as the API and the login page.
admin.site.login_form = AdminLoginForm


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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
