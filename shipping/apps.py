from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ShippingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "shipping"
    verbose_name = _("Shipping")

    def ready(self) -> None:
        from shipping.courier_seed import seed_couriers_if_empty

        # A flush (transactional tests) empties the table the migration seeded.
        post_migrate.connect(seed_couriers_if_empty, sender=self, dispatch_uid="shipping.seed_couriers")
