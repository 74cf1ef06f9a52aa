"""Who may use the sandbox marketplace's URLs.

The page shows what the fake marketplace received: managers and admins read it (managers hold
the channels view_* permissions of everything but accounts). Placing orders by hand and the API
tokens are writes in the channels app: admins only.

The JSON API is PUBLIC in the matrix sense: no login, token auth instead; every endpoint answers
401 without a token (tests/channels/test_sandbox_views.py checks that for anonymous clients,
tests/channels/test_sandbox_api.py for every endpoint)."""

from channels.sandbox.services import sandbox_key_issue
from tests.access import ADMIN, MANAGER_UP, NO_METHOD, PUBLIC, Rule


def _key(user, other):
    key, _token = sandbox_key_issue(actor=None, label="matrix")
    return [key.pk]


RULES = {
    "sandbox:page": Rule(get=MANAGER_UP, post=NO_METHOD),
    "sandbox:generate": Rule(get=NO_METHOD, post=ADMIN),
    "sandbox:key_issue": Rule(get=NO_METHOD, post=ADMIN),
    "sandbox:key_revoke": Rule(get=NO_METHOD, post=ADMIN, args=_key),
    "sandbox:api_auth": Rule(get=PUBLIC, post=PUBLIC),
    "sandbox:api_couriers": Rule(get=PUBLIC, post=PUBLIC),
    "sandbox:api_orders": Rule(get=PUBLIC, post=PUBLIC),
    "sandbox:api_confirm": Rule(get=PUBLIC, post=PUBLIC),
    "sandbox:api_dispatch": Rule(get=PUBLIC, post=PUBLIC),
    "sandbox:api_stock": Rule(get=PUBLIC, post=PUBLIC),
    "sandbox:api_products": Rule(get=PUBLIC, post=PUBLIC),
}
