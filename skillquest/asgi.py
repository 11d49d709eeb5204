"""The ASGI application: Django for HTTP, and the live socket under /ws/ (progress.live).

Served by daphne: the Procfile's `ws:` process (behind a proxy that routes /ws/ to it) and
`make run`'s runserver, where one process answers pages, the API and /ws/ alike. gunicorn serves
HTTP in production through `skillquest.wsgi`.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillquest.settings")
# Before anything that imports models: this sets Django up.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from progress.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
