from django.apps import AppConfig


class VendorsConfig(AppConfig):
    name = "vendors"

    def ready(self) -> None:
        from lpo_tracker.signin.policy import register_mfa_role
        from vendors.selectors import is_vendor_user

        register_mfa_role("vendors", is_vendor_user)
