"""Who may use the stock Excel upload: everyone who reads stock may download the template and
the count sheet; uploading and applying needs inventory.change_stocklevel (managers and
administrators)."""

from oms.models import ImportSession
from tests.access import ALL, MANAGER_UP, NO_METHOD, Rule


def _own_upload(user, other):
    session = ImportSession.objects.create(
        kind=ImportSession.Kind.STOCK, owner=user, original_name="s.xlsx", status=ImportSession.Status.INVALID
    )
    return [session.pk]


RULES = {
    "inventory:stock_import": Rule(get=MANAGER_UP, post=MANAGER_UP),
    "inventory:stock_import_template": Rule(get=ALL, post=NO_METHOD),
    "inventory:stock_import_export": Rule(get=ALL, post=NO_METHOD),
    "inventory:stock_import_detail": Rule(get=MANAGER_UP, post=NO_METHOD, args=_own_upload),
    "inventory:stock_import_commit": Rule(get=NO_METHOD, post=MANAGER_UP, args=_own_upload),
    "inventory:stock_import_cancel": Rule(get=NO_METHOD, post=MANAGER_UP, args=_own_upload),
    "inventory:stock_import_errors": Rule(get=MANAGER_UP, post=NO_METHOD, args=_own_upload),
}
