"""Shared set-up for the sandbox marketplace tests (no tests of its own): options on sale,
orders placed at a chosen time, and issued tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from django.utils import timezone

from channels.sandbox.services import sandbox_key_issue, sandbox_listing_register
from channels.sandbox_models import SandboxListing, SandboxOrder, SandboxOrderLine

_numbers = count(1)


def make_listing(
    *,
    stock: int = 10,
    price: int = 19_900,
    seller_code: str = "",
    name: str = "오버핏 코튼 티셔츠",
    option_text: str = "색상: 블랙 / 사이즈: M",
    product_id: str = "7700001",
    sale_status: str = SandboxListing.SaleStatus.ON_SALE,
) -> SandboxListing:
    n = next(_numbers)
    listing, _created = sandbox_listing_register(
        product_id=product_id,
        option_id=f"{product_id}{n:03d}",
        product_name=name,
        option_text=option_text,
        price=price,
        stock_quantity=stock,
        seller_code=seller_code,
    )
    if sale_status != listing.sale_status:
        SandboxListing.objects.filter(pk=listing.pk).update(sale_status=sale_status)
        listing.refresh_from_db()
    return listing


def make_order(
    lines: list[tuple[SandboxListing, int]], *, changed_at: datetime | None = None, order_no: str = ""
) -> SandboxOrder:
    """An order as a buyer placed it (without touching stock: tests set stock themselves)."""
    when = changed_at or timezone.now()
    n = next(_numbers)
    order = SandboxOrder.objects.create(
        order_no=order_no or f"2026010{n:07d}",
        ordered_at=when - timedelta(minutes=1),
        paid_at=when - timedelta(seconds=30),
        changed_at=when,
        buyer_name="김민준",
        buyer_phone="010-2345-6789",
        recipient_name="이서연",
        recipient_phone="0504-1234-5678",
        zip_code="06164",
        address1="서울특별시 강남구 테헤란로 521",
        address2="파르나스타워 15층",
        delivery_message="문 앞에 놔주세요",
        shipping_fee=3000,
    )
    for i, (listing, quantity) in enumerate(lines, start=1):
        SandboxOrderLine.objects.create(
            order=order,
            line_no=f"{order.order_no}{i:02d}",
            listing=listing,
            product_id=listing.product_id,
            option_id=listing.option_id,
            product_name=listing.product_name,
            option_text=listing.option_text,
            seller_code=listing.seller_code,
            quantity=quantity,
            unit_price=listing.price,
        )
    return order


def issue_token(label: str = "테스트") -> str:
    _key, token = sandbox_key_issue(actor=None, label=label)
    return token


def bearer(token: str) -> dict[str, str]:
    """Headers for the test client's headers= argument."""
    return {"Authorization": f"Bearer {token}"}
