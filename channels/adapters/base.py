"""The adapter contract (STYLE.md, DESIGN.md "Channel adapters").

An adapter does HTTP and vendor JSON/XML <-> the plain dataclasses in channels.types, nothing
else: no ORM, no transactions, no task enqueueing. channels.services owns cursors,
idempotency, transactions, rate limits and retries; it hands the adapter a requests.Session
that already carries them.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

import requests
from django.utils.functional import Promise

from channels.types import (
    AccountConfig,
    AuthCheck,
    ChannelOrder,
    Dispatch,
    ItemResult,
    OrderRef,
    ProductUpdate,
    StockUpdate,
)


class Capability(enum.StrEnum):
    COLLECT_ORDERS = "collect_orders"
    CONFIRM_ORDERS = "confirm_orders"
    DISPATCH = "dispatch"
    PUSH_STOCK = "push_stock"
    PUSH_PRODUCT = "push_product"
    COLLECT_CLAIMS = "collect_claims"
    RESOLVE_CLAIMS = "resolve_claims"
    COLLECT_INQUIRIES = "collect_inquiries"
    ANSWER_INQUIRIES = "answer_inquiries"


# --- Typed errors ------------------------------------------------------------------------------


class ChannelError(Exception):
    """Base of every adapter error. `message` is the marketplace's reason, for people."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        self.message, self.status, self.code = message, status, code
        super().__init__(message)


class ChannelAuthError(ChannelError):
    """Credentials refused (expired key, wrong secret, IP not allowed). Not retried: the account
    turns to error and the dashboard says why."""


class ChannelRateLimited(ChannelError):
    """429 or the marketplace's rate-limit code. Retry after `retry_after` seconds."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = 429, code: str = ""
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class ChannelTemporaryError(ChannelError):
    """5xx, timeouts, connection errors, garbage answers: retry with backoff."""


class ChannelRequestError(ChannelError):
    """The marketplace refused the request itself (4xx other than auth/rate limit): a bug or bad
    data on our side; not retried."""


class Unsupported(ChannelError):
    """The marketplace has no API for this; the UI offers the Excel way instead."""


# --- Credentials the account form asks for -------------------------------------------------------


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str | Promise
    secret: bool = True  # secrets are never shown again after saving (설정됨 ····1234)
    help_text: str | Promise = ""
    required: bool = True


# --- The adapter -------------------------------------------------------------------------------------


class ChannelAdapter(abc.ABC):
    code: ClassVar[str]
    label: ClassVar[str | Promise]
    capabilities: ClassVar[frozenset[Capability]]
    credential_fields: ClassVar[tuple[CredentialField, ...]]
    default_base_url: ClassVar[str]
    # A marketplace that exists only for demos and tests (the sandbox): the registry leaves it
    # out, and the account picker does not offer it, while settings.OMS_SANDBOX_ENABLED is off.
    demo_only: ClassVar[bool] = False
    # Requests per second the marketplace allows per account (channel-specs.md); the service's
    # token bucket uses it.
    rate_per_second: ClassVar[float] = 5.0
    # Largest batch each write endpoint accepts.
    confirm_batch: ClassVar[int] = 50
    dispatch_batch: ClassVar[int] = 50
    stock_batch: ClassVar[int] = 50
    timeout: ClassVar[tuple[float, float]] = (5.0, 30.0)  # connect, read

    def __init__(self, *, account: AccountConfig, session: requests.Session) -> None:
        self.account = account
        self.session = session

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def _unsupported(self, capability: Capability) -> Unsupported:
        return Unsupported(f"{self.code} does not support {capability.value}")

    @abc.abstractmethod
    def check_auth(self) -> AuthCheck:
        """A cheap authenticated call, for the account page's 연결 테스트."""

    def fetch_orders(self, *, since: datetime, until: datetime) -> Iterator[ChannelOrder]:
        """Orders created or changed in [since, until), complete with their lines."""
        raise self._unsupported(Capability.COLLECT_ORDERS)

    def confirm_orders(self, refs: Sequence[OrderRef]) -> list[ItemResult]:
        """발주확인. At most `confirm_batch` refs per call."""
        raise self._unsupported(Capability.CONFIRM_ORDERS)

    def dispatch(self, dispatches: Sequence[Dispatch]) -> list[ItemResult]:
        """발송처리 with tracking numbers. At most `dispatch_batch` per call."""
        raise self._unsupported(Capability.DISPATCH)

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        """Set sellable quantities. At most `stock_batch` per call."""
        raise self._unsupported(Capability.PUSH_STOCK)

    def push_product(self, updates: Sequence[ProductUpdate]) -> list[ItemResult]:
        raise self._unsupported(Capability.PUSH_PRODUCT)
