from django.apps import AppConfig


class ProgressConfig(AppConfig):
    name = "progress"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from progress import receivers  # noqa: F401  (connects the signal receivers)
        from progress.personal_data import register_holdings

        register_holdings()
