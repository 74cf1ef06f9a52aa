from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cs"
    verbose_name = _("Customer service")
