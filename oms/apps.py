from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles_after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    from django.apps import apps

    # post_migrate is sent once per app that has a models module, after that app's permissions
    # are created; the last such app's signal is the first moment every permission exists.
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender is not with_models[-1]:
        return
    from oms.roles import sync_roles

    sync_roles()


class OmsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "oms"
    verbose_name = _("Back office")

    def ready(self) -> None:
        from oms import checks, signals  # noqa: F401  (deploy checks, worker signal handlers)

        # Models added by later migrations get their role permissions on the same migrate.
        post_migrate.connect(_sync_roles_after_migrate, dispatch_uid="oms.sync_roles")
