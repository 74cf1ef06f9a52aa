from __future__ import annotations

import pytest

from orders.models import LineStatus
from shipping.models import Courier, parse_tracking_lengths, shipment_number, shipment_pk_from_number
from tests.channels.factories import ChannelAccountFactory
from tests.shipping.factories import courier, ready_shipment

pytestmark = pytest.mark.django_db


def test_couriers_are_seeded_with_marketplace_codes_and_one_default() -> None:
    assert Courier.objects.get(is_default=True).code == "CJGLS"
    assert courier("HYUNDAI").name == "롯데택배"
    assert courier("KGB").name == "로젠택배"
    assert courier("CJGLS").code_for("11st") == "00034"
    assert courier("CJGLS").code_for("coupang") == "CJGLS"
    assert courier("EPOST").tracking_link("6012345678901").endswith("6012345678901")


def test_tracking_length_rules_parse_lists_and_ranges() -> None:
    assert parse_tracking_lengths("10,12") == [(10, 10), (12, 12)]
    assert parse_tracking_lengths("8-16") == [(8, 16)]
    assert parse_tracking_lengths("") == []
    with pytest.raises(ValueError):
        parse_tracking_lengths("abc")


def test_shipment_number_round_trips() -> None:
    assert shipment_number(123) == "S00000123"
    assert shipment_pk_from_number("S00000123") == 123
    assert shipment_pk_from_number(" s123 ") == 123
    assert shipment_pk_from_number("123") == 123
    assert shipment_pk_from_number("X123") is None


def test_ready_shipment_holds_a_ready_line() -> None:
    shipment = ready_shipment(ChannelAccountFactory.create())
    (item,) = shipment.items.select_related("line")
    assert item.line.status == LineStatus.READY
    assert shipment.number.startswith("S")


@pytest.mark.usefixtures("english")
def test_tracking_numbers_are_checked_for_digits_and_the_couriers_lengths() -> None:
    from shipping.couriers import TrackingNumberInvalid, tracking_validate

    cj = courier("CJGLS")
    assert tracking_validate(courier=cj, number=" 6012-3456-7890 ") == "601234567890"
    assert tracking_validate(courier=cj, number=601234567890.0) == "601234567890"
    with pytest.raises(TrackingNumberInvalid, match="10,12 digits; 60123456789 has 11"):
        tracking_validate(courier=cj, number="60123456789")
    with pytest.raises(TrackingNumberInvalid, match="digits only"):
        tracking_validate(courier=cj, number="60123A567890")
    assert tracking_validate(courier=courier("CUPARCEL"), number="12345") == "12345"
