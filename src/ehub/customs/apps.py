from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomsConfig(AppConfig):
    name = "ehub.customs"
    label = "customs"
    verbose_name = _("Customs")
