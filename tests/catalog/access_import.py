"""Who may use the bulk product Excel pages: everyone who reads products may download the
template and the catalogue; uploading and applying needs catalog.add_product + change_product
(managers and administrators)."""

from oms.models import ImportSession
from tests.access import ALL, MANAGER_UP, NO_METHOD, Rule


def _own_upload(user, other):
    session = ImportSession.objects.create(
        kind=ImportSession.Kind.PRODUCTS,
        owner=user,
        original_name="p.xlsx",
        status=ImportSession.Status.INVALID,
    )
    return [session.pk]


RULES = {
    "catalog:product_import": Rule(get=MANAGER_UP, post=MANAGER_UP),
    "catalog:product_import_template": Rule(get=ALL, post=NO_METHOD),
    "catalog:product_import_export": Rule(get=ALL, post=NO_METHOD),
    "catalog:product_import_detail": Rule(get=MANAGER_UP, post=NO_METHOD, args=_own_upload),
    "catalog:product_import_commit": Rule(get=NO_METHOD, post=MANAGER_UP, args=_own_upload),
    "catalog:product_import_cancel": Rule(get=NO_METHOD, post=MANAGER_UP, args=_own_upload),
    "catalog:product_import_errors": Rule(get=MANAGER_UP, post=NO_METHOD, args=_own_upload),
}
