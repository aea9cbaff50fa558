from django.apps import AppConfig
from django.db.models.signals import post_save


class MattersConfig(AppConfig):
    name = "matters"

    def ready(self) -> None:
        from matters import signals
        from matters.models import Party
        from vendors.models import ConflictDeclaration, VendorUser

        post_save.connect(signals.party_added, sender=Party, dispatch_uid="lpo-party-added")
        post_save.connect(signals.declaration_added, sender=ConflictDeclaration,
                          dispatch_uid="lpo-declaration-added")
        post_save.connect(signals.vendor_staff_added, sender=VendorUser,
                          dispatch_uid="lpo-vendor-staff-added")
