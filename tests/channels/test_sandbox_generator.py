"""The sandbox's buyers: realistic orders that take stock off the options, never of an option
at stock 0 or off sale; the beat's rounds every 20-40 s; the sandbox_generate command."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from channels.models import ChannelAccount, Marketplace
from channels.sandbox.generator import (
    NEXT_ROUND_KEY,
    next_round_at,
    sandbox_is_live,
    sandbox_orders_generate,
    sandbox_tick,
)
from channels.sandbox.services import sandbox_events_prune
from channels.sandbox_models import SandboxEvent, SandboxListing, SandboxOrder, SandboxOrderLine
from channels.tasks_sandbox import sandbox_tick_task
from tests.channels.factories import ChannelAccountFactory
from tests.channels.test_sandbox_helpers import make_listing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PHONE = re.compile(r"^(010-\d{4}-\d{4}|050[4678]-\d{4}-\d{4})$")


@pytest.fixture(autouse=True)
def _sandbox_on(settings) -> None:
    settings.OMS_SANDBOX_ENABLED = True


@pytest.fixture
def sandbox_account() -> ChannelAccount:
    return ChannelAccountFactory.create(marketplace=Marketplace.SANDBOX, name="샌드박스 마켓")


def test_orders_never_take_an_option_at_stock_0_or_off_sale() -> None:
    sold_out = make_listing(stock=0)
    stopped = make_listing(stock=50, sale_status=SandboxListing.SaleStatus.SUSPENDED)
    on_sale = make_listing(stock=500)
    placed = sandbox_orders_generate(count=60, rng=random.Random(1))
    assert len(placed) == 60
    ordered = set(SandboxOrderLine.objects.values_list("listing_id", flat=True))
    assert ordered == {on_sale.pk}
    assert sold_out.pk not in ordered and stopped.pk not in ordered


def test_orders_take_their_quantity_off_the_stock_and_stop_at_zero() -> None:
    a, b = make_listing(stock=3), make_listing(stock=2)
    placed = sandbox_orders_generate(count=20, rng=random.Random(7))
    # Five units in all: at most five orders, and never more sold than there was.
    sold = {
        listing.pk: sum(ln.quantity for ln in SandboxOrderLine.objects.filter(listing=listing))
        for listing in (a, b)
    }
    assert sold == {a.pk: 3, b.pk: 2}
    assert 3 <= len(placed) <= 5
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.stock_quantity, b.stock_quantity) == (0, 0)
    assert sandbox_orders_generate(count=3) == []


def test_stock_pushed_back_up_makes_an_option_orderable_again() -> None:
    listing = make_listing(stock=0)
    assert sandbox_orders_generate(count=2) == []
    SandboxListing.objects.filter(pk=listing.pk).update(stock_quantity=4)
    assert len(sandbox_orders_generate(count=1)) == 1


def test_generated_orders_look_like_korean_marketplace_orders() -> None:
    for n in range(6):
        make_listing(stock=100, price=19_900 + n * 1000, seller_code=f"DM-TS01-{n}")
    placed = sandbox_orders_generate(count=80, rng=random.Random(2026))
    phones = [o.buyer_phone for o in placed] + [o.recipient_phone for o in placed]
    assert all(PHONE.match(p) for p in phones), phones
    assert any(p.startswith("050") for p in phones) and any(p.startswith("010") for p in phones)
    assert all(re.fullmatch(r"\d{5}", o.zip_code) for o in placed)
    assert all(re.fullmatch(r"[가-힣]{2,4}", o.buyer_name) for o in placed)
    assert any(o.delivery_message for o in placed) and any(not o.delivery_message for o in placed)
    line_counts = [o.lines.count() for o in placed]
    assert set(line_counts) == {1, 2}
    quantities = set(SandboxOrderLine.objects.values_list("quantity", flat=True))
    assert quantities == {1, 2}
    assert len({o.order_no for o in placed}) == 80
    for order in placed:
        lines = list(order.lines.all())
        assert all(ln.line_no.startswith(order.order_no) and ln.seller_code for ln in lines)
        total = sum(ln.line_total for ln in lines)
        assert order.shipping_fee in ((0 if total >= 30_000 else 3_000) + extra for extra in (0, 3_000))
    assert SandboxEvent.objects.filter(kind=SandboxEvent.Kind.ORDER_PLACED).count() == 80


def test_tick_waits_for_the_next_round_20_to_40_seconds_on(sandbox_account: ChannelAccount) -> None:
    make_listing(stock=1000)
    now = timezone.now()
    first = sandbox_tick(now=now, rng=random.Random(3))
    assert 1 <= len(first) <= 3
    due = next_round_at()
    assert due is not None and timedelta(seconds=20) <= due - now <= timedelta(seconds=40)
    assert sandbox_tick(now=now + timedelta(seconds=19)) == []
    assert 1 <= len(sandbox_tick(now=due + timedelta(seconds=1))) <= 3


def test_no_buyers_while_the_sandbox_is_off_or_its_accounts_are_paused(
    settings, sandbox_account: ChannelAccount
) -> None:
    make_listing(stock=100)
    settings.OMS_SANDBOX_ENABLED = False
    assert not sandbox_is_live() and sandbox_tick() == []
    settings.OMS_SANDBOX_ENABLED = True
    ChannelAccount.objects.filter(pk=sandbox_account.pk).update(status=ChannelAccount.Status.PAUSED)
    assert not sandbox_is_live() and sandbox_tick() == []
    ChannelAccount.objects.filter(pk=sandbox_account.pk).update(status=ChannelAccount.Status.ERROR)
    assert sandbox_is_live()
    assert not SandboxOrder.objects.exists()


def test_the_beat_task_places_orders(sandbox_account: ChannelAccount) -> None:
    make_listing(stock=100)
    cache.delete(NEXT_ROUND_KEY)
    assert sandbox_tick_task.apply().get() >= 1
    assert SandboxOrder.objects.exists()


def test_events_are_pruned_to_the_newest() -> None:
    SandboxEvent.objects.bulk_create(
        [SandboxEvent(kind=SandboxEvent.Kind.STOCK, summary=f"e{i}") for i in range(12)]
    )
    assert sandbox_events_prune(keep=5) == 7
    assert list(SandboxEvent.objects.order_by("pk").values_list("summary", flat=True)) == [
        f"e{i}" for i in range(7, 12)
    ]
    assert sandbox_events_prune(keep=5) == 0


def test_command_places_orders_and_says_when_stock_ran_out() -> None:
    make_listing(stock=2)
    out = StringIO()
    call_command("sandbox_generate", "--orders", "5", "--seed", "1", stdout=out)
    assert "not placed: out of stock" in out.getvalue()
    assert 1 <= SandboxOrder.objects.count() <= 2
    with pytest.raises(CommandError, match="no order was placed"):
        call_command("sandbox_generate", "--orders", "1", stdout=StringIO())


def test_command_refuses_while_the_sandbox_is_off(settings) -> None:
    settings.OMS_SANDBOX_ENABLED = False
    with pytest.raises(CommandError, match="OMS_SANDBOX_ENABLED"):
        call_command("sandbox_generate", "--orders", "1", stdout=StringIO())


def test_command_issues_a_token_that_the_api_accepts(client) -> None:
    out = StringIO()
    call_command("sandbox_generate", "--issue-token", "운영 테스트", stdout=out)
    token = out.getvalue().strip()
    assert token.startswith("sbx_")
    assert client.get("/sandbox/api/auth", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
