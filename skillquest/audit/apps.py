from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "skillquest.audit"
    label = "audit"
    verbose_name = "Audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from skillquest.audit.personal_data import register_holdings  # models are loaded only now

        register_holdings()
