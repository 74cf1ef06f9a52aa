"""A tiny marketplace for the channel framework's tests: a fake server over real HTTP (token
issue, an authenticated 'who am I' call) and the adapter that talks to it. The real Naver and
Coupang adapters have their own fakes; these only exercise accounts, sessions and the UI."""

from __future__ import annotations

import secrets
from typing import ClassVar

from django.utils.translation import gettext_lazy as _

from channels.adapters.base import Capability, ChannelAdapter, CredentialField
from channels.http import channel_error_for, retry_safe
from channels.types import AuthCheck
from tests.fakes.server import FakeMarketplace, Request, Response

SHOP_CODE = "shopify"  # a marketplace code without a real adapter in this project


class FakeShop(FakeMarketplace):
    """Issues a bearer token for (client_id, client_secret); /v1/me needs the token."""

    def __init__(self, *, client_id: str = "shop-client", client_secret: str = "") -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret or "sk_live_" + secrets.token_hex(12)
        self.tokens: set[str] = set()

    def handle(self, request: Request) -> Response:
        if request.path == "/oauth/token" and request.method == "POST":
            form = request.form()
            if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
                return Response(401, {"code": "AUTH_FAILED", "message": "invalid client credentials"})
            token = "tok_" + secrets.token_hex(16)
            self.tokens.add(token)
            return Response(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
        if request.path == "/v1/me":
            auth = request.headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.tokens:
                return Response(401, {"code": "AUTH_FAILED", "message": "token expired"})
            return Response(200, {"shop": "테스트 상점", "plan": "basic"})
        if request.path.startswith("/echo"):
            return Response(
                200, {"path": request.path, "query": request.raw_query, "body": request.body.decode()}
            )
        return Response(404, {"code": "NOT_FOUND", "message": request.path})


class FakeShopAdapter(ChannelAdapter):
    code = SHOP_CODE
    label = "Fake shop"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.COLLECT_ORDERS, Capability.PUSH_STOCK}
    )
    credential_fields = (
        CredentialField("client_id", _("Client ID"), secret=False),
        CredentialField("client_secret", _("Client secret")),
        CredentialField("webhook_secret", _("Webhook secret"), required=False),
    )
    default_base_url = "https://fake-shop.invalid"
    rate_per_second = 50.0
    timeout = (2.0, 2.0)

    def check_auth(self) -> AuthCheck:
        base = self.account.base_url
        creds = self.account.credentials
        with retry_safe(self.session):
            reply = self.session.post(
                f"{base}/oauth/token",
                data={
                    "client_id": creds.get("client_id", ""),
                    "client_secret": creds.get("client_secret", ""),
                },
            )
        if reply.status_code != 200:
            raise channel_error_for(reply, reply.json().get("message", ""))
        token = reply.json()["access_token"]
        me = self.session.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {token}"})
        if me.status_code != 200:
            raise channel_error_for(me, me.json().get("message", ""))
        return AuthCheck(ok=True, message=f"{me.json()['shop']} ({me.json()['plan']})")
