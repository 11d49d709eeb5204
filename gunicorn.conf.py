"""Gunicorn settings for the Procfile's `web:`, the Dockerfile and docker-compose.yml (one place)."""

import os

from gunicorn.glogging import Logger

# $PORT and $WEB_CONCURRENCY as on Heroku-style platforms; 2-4 sync workers per core (docs/architecture.md).
bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Recycle workers now and then (a slow leak cannot grow for ever), but rarely: a restart re-imports
# the app (about a second of CPU), and at the rates of bench/README.md a worker served 10,000
# requests in ~13 s, so 10,000 cost several percent of the machine and noise in every measurement.
max_requests = 100_000
max_requests_jitter = 10_000

_debug = os.environ.get("DEBUG", "false").strip().lower() in {"1", "true", "yes", "on"}
# Gunicorn's own lines (start-up, worker timeouts) as JSON like the app's; access lines are dropped
# because the app logs one `http_request` event per request with its request id (skillquest.middleware).
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "app": {"()": "skillquest.logging.ConsoleFormatter" if _debug else "skillquest.logging.JsonFormatter"}
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "app"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
    "root": {"handlers": ["stderr"], "level": "INFO"},
}


class AppLogger(Logger):
    """Gunicorn's logger without access lines: with a logconfig_dict gunicorn would build every
    request's access-log fields (~2 % of a request's CPU here) only for the level above to drop them."""

    def access(self, resp, req, environ, request_time):
        return None


# Setting a logger class turns off gunicorn's automatic switch to its statsd logger when
# `statsd_host` is set; metrics come from /metrics (django-prometheus) instead.
logger_class = AppLogger


def child_exit(server, worker):
    # Imported here, not at the top: gunicorn reads this file before it puts `--chdir` on sys.path,
    # so the project's packages may not be importable yet when the file is read.
    from skillquest.multiprocess_metrics import process_dead

    process_dead(worker.pid)
