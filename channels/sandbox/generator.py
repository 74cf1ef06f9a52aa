"""Buyers of the sandbox marketplace: realistic Korean orders of the sandbox's options.

An order takes the quantity it buys off the option's stock, like a real marketplace's
displayed quantity, and an option whose stock is 0 (or whose sale is stopped) is never
ordered: the stock the OMS pushes decides what can sell, which is what makes the demo show
stock going out. `sandbox_tick` is what the beat schedule runs: every 20-40 seconds (at
random) it places 1-3 orders, while the sandbox is enabled and a sandbox account is in use.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import ChannelAccount, Marketplace
from channels.sandbox.services import sandbox_events_prune
from channels.sandbox_models import SandboxEvent, SandboxListing, SandboxOrder, SandboxOrderLine
from oms.models import User
from oms.services import audit_record

# Seconds between two rounds of orders, and orders per round.
ORDER_GAP_SECONDS = (20.0, 40.0)
ORDERS_PER_ROUND = (1, 3)
NEXT_ROUND_KEY = "sandbox:next-order-round"
TICK_LOCK_KEY = "sandbox:tick-lock"
FREE_SHIPPING_FROM = 30_000
SHIPPING_FEE = 3_000
ISLAND_FEE = 3_000  # 제주 and other islands pay extra (zip codes 63000-63644)

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍전고문양손배백허남심노하곽성차주우구민유진"
GIVEN_NAMES = (
    *("민준", "서연", "도윤", "지우", "서준", "하윤", "예준", "서윤", "시우", "지민", "주원", "지유"),
    *("하준", "채원", "지호", "수아", "준서", "지아", "건우", "다은", "현우", "은서", "우진", "예린"),
    *("선우", "수빈", "연우", "소율", "유준", "예은", "정우", "하은", "승우", "윤서", "민재", "가은"),
    *("영희", "철수", "미경", "정훈", "은정", "상민", "혜진", "성호", "지영", "동현", "수진", "경민"),
)
# (zip code, road-name address, detail): real streets and their zip codes.
ADDRESSES = (
    ("06164", "서울특별시 강남구 테헤란로 521", "파르나스타워 15층"),
    ("06035", "서울특별시 강남구 가로수길 31", "2층"),
    ("04104", "서울특별시 마포구 백범로 35", "서강대학교 정하상관 301호"),
    ("03154", "서울특별시 종로구 종로 1", "교보빌딩 8층"),
    ("08826", "서울특별시 관악구 관악로 1", "301동 204호"),
    ("02841", "서울특별시 성북구 안암로 145", "학생회관 1층 우편실"),
    ("05510", "서울특별시 송파구 올림픽로 240", "잠실엘스 112동 1701호"),
    ("07807", "서울특별시 강서구 마곡중앙로 161-8", "두산더랜드파크 B동 402호"),
    ("01811", "서울특별시 노원구 동일로 1414", "상계주공 7단지 703동 1102호"),
    ("13487", "경기도 성남시 분당구 판교역로 235", "에이치스퀘어 N동 6층"),
    ("16499", "경기도 수원시 팔달구 효원로 241", "수원시청 별관 2층"),
    ("10401", "경기도 고양시 일산동구 중앙로 1275", "미관광장 상가 105호"),
    ("14055", "경기도 안양시 동안구 시민대로 235", "평촌 래미안 305동 905호"),
    ("18471", "경기도 화성시 동탄대로 537", "동탄역 롯데캐슬 102동 3503호"),
    ("22004", "인천광역시 연수구 센트럴로 160", "송도 센트럴파크 푸르지오 201동 1203호"),
    ("48095", "부산광역시 해운대구 해운대해변로 264", "해운대 아이파크 T2 4102호"),
    ("48943", "부산광역시 중구 광복로 55", "1층 편집숍"),
    ("41940", "대구광역시 중구 동덕로 130", "경북대병원 앞 원룸 402호"),
    ("61475", "광주광역시 동구 금남로 245", "전일빌딩 5층"),
    ("34126", "대전광역시 유성구 대학로 99", "충남대학교 기숙사 3동 412호"),
    ("44543", "울산광역시 중구 종가로 405", "혁신도시 LH 아파트 104동 805호"),
    ("30103", "세종특별자치시 도움6로 11", "정부세종청사 6동 2층"),
    ("63309", "제주특별자치도 제주시 첨단로 242", "스페이스닷원 3층"),
    ("63535", "제주특별자치도 서귀포시 중앙로 105", "101호"),
    ("24341", "강원특별자치도 춘천시 중앙로 1", "도청 민원실"),
    ("25464", "강원특별자치도 강릉시 경강로 2100", "강릉역 앞 상가 2층"),
    ("28644", "충청북도 청주시 서원구 충대로 1", "충북대학교 개신관 110호"),
    ("31116", "충청남도 천안시 동남구 만남로 43", "신세계백화점 물류센터"),
    ("54896", "전북특별자치도 전주시 덕진구 백제대로 567", "전북대학교 진수당 2층"),
    ("58613", "전라남도 목포시 영산로 59", "3층"),
    ("37673", "경상북도 포항시 남구 대이로 140", "대이동 현대아파트 101동 601호"),
    ("51430", "경상남도 창원시 성산구 중앙대로 151", "창원시청 본관 1층"),
)
DELIVERY_MESSAGES = (
    "",
    "",
    "",
    "문 앞에 놔주세요",
    "부재 시 문 앞에 놓아주세요",
    "경비실에 맡겨주세요",
    "배송 전에 연락 부탁드립니다",
    "택배함에 넣어주세요",
    "공동현관 비밀번호 #0415 입니다",
    "파손 위험 있으니 조심히 다뤄주세요",
    "벨 누르지 말고 노크해 주세요 (아기가 자요)",
    "부재 시 휴대폰으로 연락 주세요",
)


@dataclass(frozen=True)
class Buyer:
    name: str
    phone: str
    recipient_name: str
    recipient_phone: str
    recipient_phone2: str
    zip_code: str
    address1: str
    address2: str
    message: str


def _mobile(rng: random.Random) -> str:
    return f"010-{rng.randint(2000, 9999)}-{rng.randint(1000, 9999)}"


def _safe_number(rng: random.Random) -> str:
    """A 050x 안심번호 (the marketplace hides the buyer's own number behind it)."""
    return f"050{rng.choice('4678')}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def random_buyer(rng: random.Random) -> Buyer:
    name = _person(rng)
    safe = rng.random() < 0.25
    phone = _safe_number(rng) if safe else _mobile(rng)
    gift = rng.random() < 0.15  # sent to someone else
    recipient = _person(rng) if gift else name
    recipient_phone = (_safe_number(rng) if safe else _mobile(rng)) if gift else phone
    zip_code, address1, address2 = rng.choice(ADDRESSES)
    return Buyer(
        name=name,
        phone=phone,
        recipient_name=recipient,
        recipient_phone=recipient_phone,
        recipient_phone2=_mobile(rng) if rng.random() < 0.1 else "",
        zip_code=zip_code,
        address1=address1,
        address2=address2,
        message=rng.choice(DELIVERY_MESSAGES),
    )


def _order_no(now: datetime, taken: int) -> str:
    """14 digits: the day (KST) and a running number within it."""
    return f"{timezone.localtime(now):%Y%m%d}{taken + 1:06d}"


def _shipping_fee(total: int, zip_code: str) -> int:
    fee = 0 if total >= FREE_SHIPPING_FROM else SHIPPING_FEE
    if zip_code.isdigit() and 63000 <= int(zip_code) <= 63644:
        fee += ISLAND_FEE
    return fee


@transaction.atomic
def sandbox_orders_generate(
    *, count: int, rng: random.Random | None = None, now: datetime | None = None, actor: User | None = None
) -> list[SandboxOrder]:
    """Place up to `count` orders of options that are on sale and in stock (1-2 lines each,
    1-2 of each option), taking their quantities off the options' stock. Fewer (or none) are
    placed when stock runs out. The options are locked while chosen, so two generators never
    sell the same last unit."""
    rng = rng or random.Random()
    now = now or timezone.now()
    listings = list(
        SandboxListing.objects.filter(sale_status=SandboxListing.SaleStatus.ON_SALE, stock_quantity__gt=0)
        .order_by("pk")
        .select_for_update()
    )
    day_prefix = f"{timezone.localtime(now):%Y%m%d}"
    taken = SandboxOrder.objects.filter(order_no__startswith=day_prefix).count()
    placed: list[SandboxOrder] = []
    for _n in range(count):
        available = [listing for listing in listings if listing.stock_quantity > 0]
        if not available:
            break
        picks = rng.sample(available, k=2 if len(available) > 1 and rng.random() < 0.25 else 1)
        buyer = random_buyer(rng)
        ordered_at = now - timedelta(seconds=rng.randint(5, 90))
        order = SandboxOrder.objects.create(
            order_no=_order_no(now, taken),
            ordered_at=ordered_at,
            paid_at=ordered_at + timedelta(seconds=rng.randint(3, 40)),
            changed_at=now,
            buyer_name=buyer.name,
            buyer_phone=buyer.phone,
            recipient_name=buyer.recipient_name,
            recipient_phone=buyer.recipient_phone,
            recipient_phone2=buyer.recipient_phone2,
            zip_code=buyer.zip_code,
            address1=buyer.address1,
            address2=buyer.address2,
            delivery_message=buyer.message,
        )
        taken += 1
        lines = []
        for i, listing in enumerate(picks):
            quantity = min(listing.stock_quantity, 1 if rng.random() < 0.8 else 2)
            listing.stock_quantity -= quantity
            lines.append(
                SandboxOrderLine(
                    order=order,
                    line_no=f"{order.order_no}{i + 1:02d}",
                    listing=listing,
                    product_id=listing.product_id,
                    option_id=listing.option_id,
                    product_name=listing.product_name,
                    option_text=listing.option_text,
                    seller_code=listing.seller_code,
                    quantity=quantity,
                    unit_price=listing.price,
                )
            )
        SandboxOrderLine.objects.bulk_create(lines)
        order.shipping_fee = _shipping_fee(sum(ln.line_total for ln in lines), order.zip_code)
        order.save(update_fields=["shipping_fee"])
        SandboxEvent.objects.create(
            kind=SandboxEvent.Kind.ORDER_PLACED,
            summary=_("%(buyer)s ordered %(items)s")
            % {
                "buyer": order.buyer_name,
                "items": ", ".join(
                    f"{ln.product_name} {ln.option_text} ×{ln.quantity}".replace("  ", " ") for ln in lines
                ),
            },
            ok_count=len(lines),
            payload=[
                {
                    "id": ln.line_no,
                    "option": ln.option_id,
                    "quantity": ln.quantity,
                    "stock_left": ln.listing.stock_quantity,
                }
                for ln in lines
                if ln.listing is not None
            ],
        )
        placed.append(order)
    SandboxListing.objects.bulk_update(listings, ["stock_quantity"])
    if actor is not None and placed:
        audit_record(
            actor=actor,
            action="sandbox.orders_generate",
            obj=None,
            changes={"orders": [o.order_no for o in placed]},
        )
    return placed


def sandbox_is_live() -> bool:
    """Whether buyers should be placing orders: the sandbox is enabled and a sandbox account is
    in use and not paused (pausing the account quiets the demo)."""
    if not settings.OMS_SANDBOX_ENABLED:
        return False
    return (
        ChannelAccount.objects.filter(marketplace=Marketplace.SANDBOX, is_active=True)
        .exclude(status=ChannelAccount.Status.PAUSED)
        .exists()
    )


def next_round_at() -> datetime | None:
    value = cache.get(NEXT_ROUND_KEY)
    return value if isinstance(value, datetime) else None


def sandbox_tick(*, now: datetime | None = None, rng: random.Random | None = None) -> list[SandboxOrder]:
    """One beat of the schedule: when the next round is due, place 1-3 orders and draw the
    time of the round after (20-40 s on). Safe to run twice at once: a short cache lock lets
    one of them through."""
    if not sandbox_is_live():
        return []
    rng = rng or random.Random()
    now = now or timezone.now()
    due = next_round_at()
    if due is not None and now < due:
        return []
    if not cache.add(TICK_LOCK_KEY, "1", timeout=30):
        return []
    try:
        cache.set(NEXT_ROUND_KEY, now + timedelta(seconds=rng.uniform(*ORDER_GAP_SECONDS)), timeout=3600)
        placed = sandbox_orders_generate(count=rng.randint(*ORDERS_PER_ROUND), rng=rng, now=now)
        sandbox_events_prune()
        return placed
    finally:
        cache.delete(TICK_LOCK_KEY)
