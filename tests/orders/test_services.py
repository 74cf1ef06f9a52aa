from __future__ import annotations

import pytest

from inventory.models import StockLevel
from inventory.services import stock_receive
from oms.models import User
from orders.ingest import orders_ingest
from orders.models import LineStatus, OrderEvent, OrderLine
from orders.services import (
    ALLOWED,
    TransitionRefused,
    lines_transition,
    order_line_cancel,
    order_line_confirm,
    order_line_hold,
    order_line_unhold,
)
from tests.catalog.factories import SkuFactory
from tests.channels.factories import ChannelAccountFactory
from tests.inventory.factories import LocationFactory
from tests.orders.builders import channel_line, channel_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(manager_user: User) -> OrderLine:
    account = ChannelAccountFactory.create()
    sku = SkuFactory.create(code="KNIT-BK-S")
    stock_receive(sku=sku, location=LocationFactory.create(), quantity=3)
    orders_ingest(account=account, orders=[channel_order(channel_line(codes=("KNIT-BK-S",), quantity=2))])
    return OrderLine.objects.get()


def test_confirm_writes_an_event_with_the_user(line: OrderLine, manager_user: User) -> None:
    confirmed = order_line_confirm(line=line, actor=manager_user)
    assert confirmed.status == LineStatus.CONFIRMED and confirmed.confirmed_at
    event = OrderEvent.objects.filter(type=OrderEvent.Type.STATUS).get()
    assert event.user == manager_user and event.data == {"from": "new", "to": "confirmed"}


def test_hold_and_unhold_return_to_where_the_line_was(line: OrderLine, manager_user: User) -> None:
    held = order_line_hold(line=line, actor=manager_user, reason="주소 확인")
    assert held.status == LineStatus.HOLD
    with pytest.raises(TransitionRefused):
        order_line_confirm(line=held, actor=manager_user)  # held from NEW: release the hold first
    back = order_line_unhold(line=held, actor=manager_user)
    assert back.status == LineStatus.NEW
    order_line_confirm(line=back, actor=manager_user)
    assert order_line_hold(line=back, actor=manager_user).status_before_hold == LineStatus.CONFIRMED
    back = order_line_unhold(line=back, actor=manager_user)
    assert back.status == LineStatus.CONFIRMED
    with pytest.raises(TransitionRefused) as refused:
        order_line_unhold(line=back, actor=manager_user)
    assert "보류" in str(refused.value) or "hold" in str(refused.value)


def test_cancel_releases_the_reservation(line: OrderLine, manager_user: User) -> None:
    assert StockLevel.objects.get().reserved == 2
    order_line_cancel(line=line, actor=manager_user, reason="고객 변심")
    assert StockLevel.objects.get().reserved == 0
    with pytest.raises(TransitionRefused):
        order_line_confirm(line=OrderLine.objects.get(), actor=manager_user)


def test_refused_transitions_say_why_and_change_nothing(line: OrderLine, manager_user: User) -> None:
    outcome = lines_transition(lines=[line], target=LineStatus.DELIVERED, actor=manager_user)
    assert outcome.changed == [] and len(outcome.refused) == 1
    assert "→" not in outcome.refused[0][1]
    assert OrderLine.objects.get().status == LineStatus.NEW
    assert not OrderEvent.objects.filter(type=OrderEvent.Type.STATUS).exists()


def test_every_state_has_a_rule_and_terminal_states_go_nowhere() -> None:
    assert set(ALLOWED) == set(LineStatus.values)
    for terminal in (LineStatus.CANCELLED, LineStatus.COMPLETED, LineStatus.RETURNED, LineStatus.EXCHANGED):
        assert ALLOWED[terminal] == frozenset()
    for open_state in (LineStatus.NEW, LineStatus.CONFIRMED, LineStatus.READY):
        assert LineStatus.HOLD in ALLOWED[open_state]
