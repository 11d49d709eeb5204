# Imported first by settings, wsgi and manage.py: multiprocess metric files must be named by host and
# pid before any metric (ours or django_prometheus's) is created.
import skillquest.multiprocess_metrics  # noqa: F401
