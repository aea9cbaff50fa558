from django.apps import AppConfig


class SigninConfig(AppConfig):
    name = "lpo_tracker.signin"
    label = "signin"
    verbose_name = "Sign-in"

    def ready(self) -> None:
        from lpo_tracker.signin import receivers  # noqa: F401  (connects the signals)
