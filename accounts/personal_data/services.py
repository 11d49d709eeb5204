"""Erasing an account: personal fields gone, game records kept anonymised (accounts.personal_data)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from accounts.personal_data.registry import holdings
from accounts.services import user_sign_out_everywhere
from accounts.signals import account_erased
from skillquest.audit.services import audit_record
from skillquest.errors import InvalidInput


def anonymous_name(user: User) -> str:
    return f"deleted-{user.pk.hex[:12]}"


@transaction.atomic
def account_erase(*, user: User, actor: User | None = None, reason: str = "") -> User:
    """Erase the player: one transaction, all or nothing.

    Username becomes `deleted-<id>`, email a placeholder at `.invalid`, name, profile, time zone and
    verification are cleared, the password made unusable and the account inactive; every holding's
    `erase` anonymises its rows (answers and client details go; scores, XP entries and badges stay,
    so others' ranks and the ledger are unchanged); every token and session ends; the leaderboards
    drop the player on commit (`account_erased`). The audit log records that it happened and by whom
    (None: the player), not what was erased. Erasing twice is refused.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active and user.username.startswith("deleted-"):
        raise InvalidInput("This account is already erased.", code="already_erased")
    old_username, anonymous = user.username, anonymous_name(user)
    for holding in holdings():
        if holding.erase is not None:
            holding.erase(user.pk, anonymous)
    user_sign_out_everywhere(user=user)
    user.username = anonymous
    user.email = f"{anonymous}@deleted.invalid"
    user.first_name = user.last_name = ""
    user.profile = {}
    user.timezone = "UTC"
    user.email_verified_at = None
    user.pending_email = ""
    user.last_login = None
    user.is_active = user.is_staff = user.is_superuser = False
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    audit_record(
        actor=actor,
        action="account.erase",
        target=user,
        changes={"by": "staff" if actor else "the player", **({"reason": reason} if reason else {})},
    )
    account_erased.send(sender=User, user_id=user.pk, username=old_username)
    return user


def account_delete(*, user: User, password: str) -> User:
    """The player's own "delete my account": their password, then `account_erase`."""
    if not user.check_password(password):
        raise ValidationError({"password": ["The password is not correct."]})
    return account_erase(user=user)
