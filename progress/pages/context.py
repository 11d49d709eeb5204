"""What every page of a signed-in player carries: the bell and where the live socket goes."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from progress.notifications.selectors import bell


def live(request: HttpRequest) -> dict:
    """`bell` (unread count, newest id: read when a template first uses it) and `live_url`."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    user_id = user.pk
    return {"bell": SimpleLazyObject(lambda: bell(user_id=user_id)), "live_url": settings.WS_PUBLIC_URL}
