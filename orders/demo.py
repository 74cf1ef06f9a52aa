"""Demo orders: four demo channel accounts and a few hundred orders across them in every state.

Everything goes through the real paths: orders.ingest.orders_ingest stores, maps and reserves
(unmapped options and short stock are flagged by it), orders.services moves lines (confirm,
hold, cancel). Nothing writes a status directly.

Idempotent: order numbers and contents are derived from a fixed seed and from the time of the
first load (read back from the first demo order), so a second run ingests identical orders
(nothing changes) and only applies a planned action to a line still in its starting state.
Needs the catalog demo (active SKUs) first; uses whatever stock the earlier demos received."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from django.db.models import Sum
from django.utils import timezone

from catalog.models import Sku
from channels.models import ChannelAccount, Marketplace
from channels.types import ChannelOrder, ChannelOrderLine, LineState
from inventory.models import StockLevel
from oms.models import User
from orders.ingest import orders_ingest
from orders.models import LineStatus, Order, OrderLine
from orders.services import TransitionRefused, lines_transition

SEED = 20260401


@dataclass(frozen=True)
class DemoAccount:
    name: str
    marketplace: str
    orders: int
    source: str
    safe_number_share: float  # share of orders whose phone is a 050x safe number


ACCOUNTS = (
    DemoAccount("스마트스토어 데모", Marketplace.SMARTSTORE, 150, Order.Source.EXCEL, 0.3),
    DemoAccount("쿠팡 데모", Marketplace.COUPANG, 110, Order.Source.EXCEL, 0.7),
    DemoAccount("11번가 데모", Marketplace.ELEVENST, 60, Order.Source.EXCEL, 0.4),
    DemoAccount("전화주문", Marketplace.MANUAL, 20, Order.Source.MANUAL, 0.0),
)

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍전고문양손배백허남심노하곽성차주우구민유진지엄채원"
GIVEN = (
    *("민준", "서연", "도윤", "지우", "서준", "하윤", "예준", "서윤", "시우", "지민", "주원", "지유", "하준"),
    *("채원", "지호", "수아", "준서", "지아", "건우", "다은", "현우", "은서", "우진", "예린", "선우", "수빈"),
    *("연우", "소율", "유준", "예은", "정우", "하은", "승우", "윤서", "민재", "가은", "현준", "민서", "지환"),
)
ADDRESSES = (
    ("06236", "서울특별시 강남구 테헤란로 152", "강남파이낸스센터 12층"),
    ("04524", "서울특별시 중구 세종대로 110", "3층 민원실"),
    ("03925", "서울특별시 마포구 월드컵북로 396", "101동 1203호"),
    ("07335", "서울특별시 영등포구 여의대로 108", "파크원 타워1 20층"),
    ("05551", "서울특별시 송파구 올림픽로 300", "롯데월드타워 35층"),
    ("13529", "경기도 성남시 분당구 판교역로 166", "카카오 판교아지트 B동"),
    ("16677", "경기도 수원시 영통구 삼성로 129", "201동 504호"),
    ("10881", "경기도 파주시 회동길 145", "2층"),
    ("21984", "인천광역시 연수구 컨벤시아대로 165", "포스코타워 18층"),
    ("48058", "부산광역시 해운대구 센텀중앙로 79", "센텀사이언스파크 9층"),
    ("47545", "부산광역시 연제구 중앙대로 1001", "부산시청 1층"),
    ("41911", "대구광역시 중구 공평로 88", "304호"),
    ("61945", "광주광역시 서구 내방로 111", "7층"),
    ("35242", "대전광역시 서구 둔산로 100", "한빛아파트 107동 803호"),
    ("44675", "울산광역시 남구 중앙로 201", "상가 1층 꽃집"),
    ("30116", "세종특별자치시 한누리대로 2130", "605동 1502호"),
    ("63122", "제주특별자치도 제주시 문연로 6", "별관 2층"),
    ("26464", "강원특별자치도 원주시 서원대로 158", "주공아파트 3동 201호"),
    ("28501", "충청북도 청주시 상당구 상당로 82", "1층 카페"),
    ("54968", "전북특별자치도 전주시 완산구 효자로 225", "402호"),
)
MESSAGES = (
    "",
    "",
    "문 앞에 놓아주세요",
    "부재 시 경비실에 맡겨주세요",
    "배송 전 연락 부탁드립니다",
    "택배함에 넣어주세요",
    "공동현관 비밀번호 #1234",
    "파손 주의 부탁드려요",
)
# Channel products the catalog does not know: their lines arrive unmapped (매칭 필요).
UNKNOWN_OPTIONS = (
    ("88810001", "여름 린넨 오버셔츠 [당일발송]", "색상: 화이트 / 사이즈: L", 32900),
    ("88810002", "여름 린넨 오버셔츠 [당일발송]", "색상: 베이지 / 사이즈: M", 32900),
    ("88810003", "데일리 양말 5켤레 세트", "구성: 랜덤 5종", 9900),
    ("88810004", "사은품 에코백", "단일상품", 0),
)
CANCEL_REASONS = ("고객 변심", "품절로 인한 취소", "주소 불명 (고객 요청)", "중복 주문")
HOLD_REASONS = ("주소 확인 중", "고객 요청: 배송일 조정", "입금 확인 대기", "")


@dataclass
class DemoResult:
    accounts_created: int = 0
    orders_created: int = 0
    lines_created: int = 0
    actions: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"demo orders: {self.accounts_created} accounts created, {self.orders_created} orders / "
            f"{self.lines_created} lines created, {self.actions} line actions"
        )


@dataclass
class _Plan:
    order: ChannelOrder
    changed_address: ChannelOrder | None = None
    actions: list[tuple[str, str]] = field(default_factory=list)  # (line id, action)


def _phone(rng: random.Random, safe: bool) -> str:
    if safe:
        return f"050{rng.choice('4678')}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
    return f"010-{rng.randint(2000, 9999)}-{rng.randint(1000, 9999)}"


def _order_no(account_index: int, i: int, manual_day: dt.datetime | None = None) -> str:
    """Marketplace-looking numbers (16 digits, distinct per account); manual orders look like
    the manual order form's (M + day + 8 hex digits)."""
    if manual_day is not None:
        return f"M{timezone.localtime(manual_day):%Y%m%d}-{0xD3300000 + i:08X}"
    return f"2026{account_index + 1}{i + 1:011d}"


def _plan_orders(
    account: DemoAccount, account_index: int, skus: Sequence[Sku], scarce: Sku | None, anchor: dt.datetime
) -> list[_Plan]:
    rng = random.Random(SEED + account_index)
    plans: list[_Plan] = []
    for i in range(account.orders):
        ordered_at = anchor - dt.timedelta(minutes=i * 37 + (rng.randint(0, 30) if i else 0))
        roll = rng.random()
        if i >= account.orders - 8 and account.marketplace != Marketplace.MANUAL:
            # The oldest ones went out already.
            state = (LineState.SHIPPED, LineState.DELIVERED, LineState.COMPLETED, LineState.RETURN_REQUESTED)[
                i % 4
            ]
        elif roll < 0.03 and account.marketplace != Marketplace.MANUAL:
            state = LineState.CANCEL_REQUESTED
        else:
            state = LineState.NEW
        order_no = _order_no(
            account_index, i, ordered_at if account.marketplace == Marketplace.MANUAL else None
        )
        lines: list[ChannelOrderLine] = []
        for n in range(1 if rng.random() < 0.75 else rng.randint(2, 3)):
            line_id = f"{order_no}-{n + 1:02d}" if order_no.startswith("M") else f"{order_no}{n + 1:02d}"
            kind = rng.random()
            if kind < 0.07:
                product_id, name, option, unknown_price = rng.choice(UNKNOWN_OPTIONS)
                lines.append(
                    ChannelOrderLine(
                        external_line_id=line_id,
                        product_name=name,
                        option_text=option,
                        channel_product_id=product_id,
                        quantity=1,
                        unit_price=unknown_price,
                        state=state,
                    )
                )
                continue
            if scarce is not None and kind < 0.12 and state == LineState.NEW:
                sku, quantity = scarce, 2
            else:
                sku, quantity = rng.choice(skus), 1 if rng.random() < 0.8 else rng.randint(2, 3)
            price = sku.price or 10000
            discount = rng.choice((0, 0, 0, 1000, 2000)) if price > 5000 else 0
            lines.append(
                ChannelOrderLine(
                    external_line_id=line_id,
                    product_name=sku.product.name,
                    option_text=sku.option_label,
                    channel_product_id=str(7_000_000 + sku.product_id),
                    channel_option_id=str(9_000_000 + sku.pk),
                    seller_codes=(sku.code,),
                    quantity=quantity,
                    unit_price=price,
                    discount=discount,
                    state=state,
                )
            )
        safe = rng.random() < account.safe_number_share
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        buyer = name if rng.random() < 0.8 else rng.choice(SURNAMES) + rng.choice(GIVEN)
        zip_code, address1, address2 = rng.choice(ADDRESSES)
        if i in (5, 41):
            zip_code = "135-080"  # an old 6-digit zip, kept and flagged
        phone = _phone(rng, safe)
        order = ChannelOrder(
            external_order_id=order_no,
            lines=tuple(lines),
            ordered_at=ordered_at,
            paid_at=ordered_at + dt.timedelta(minutes=rng.randint(0, 4)),
            buyer_name=buyer,
            buyer_phone=phone if buyer == name else _phone(rng, False),
            recipient_name=name,
            recipient_phone=phone,
            zip_code=zip_code,
            address1=address1,
            address2=address2,
            delivery_message=rng.choice(MESSAGES),
            shipping_fee=0 if sum(ln.unit_price * ln.quantity for ln in lines) >= 30000 else 3000,
        )
        plan = _Plan(order=order)
        if state == LineState.NEW:
            action_roll = rng.random()
            if i in (3, 17, 29):
                other = rng.choice(ADDRESSES)
                plan.changed_address = replace(order, zip_code=other[0], address1=other[1], address2=other[2])
            elif i >= 10 and action_roll < 0.30:
                plan.actions = [(ln.external_line_id, "confirm") for ln in lines]
            elif i >= 10 and action_roll < 0.36:
                plan.actions = [(lines[0].external_line_id, "hold")]
            elif i >= 10 and action_roll < 0.42:
                plan.actions = [(ln.external_line_id, "cancel") for ln in lines]
            elif i >= 10 and action_roll < 0.45:
                plan.actions = [(lines[0].external_line_id, "confirm"), (lines[0].external_line_id, "hold")]
        plans.append(plan)
    return plans


def _anchor(accounts: Sequence[ChannelAccount]) -> dt.datetime:
    first = Order.objects.filter(account=accounts[0], external_order_id=_order_no(0, 0)).first()
    if first is not None and first.ordered_at is not None:
        return first.ordered_at
    return timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=20)


# The state a line must be in for a planned action to still apply (so a re-run does nothing).
_ACTION_STEPS = {
    "confirm": (LineStatus.NEW, LineStatus.CONFIRMED),
    "hold": ((LineStatus.NEW, LineStatus.CONFIRMED), LineStatus.HOLD),
    "cancel": (LineStatus.NEW, LineStatus.CANCELLED),
}


def orders_demo_load(*, actor: User | None = None) -> DemoResult:
    result = DemoResult()
    skus = list(
        Sku.objects.filter(is_active=True, kind=Sku.Kind.SINGLE).select_related("product").order_by("pk")[:80]
    )
    if not skus:
        result.notes.append("no active SKUs: load the catalog demo first; demo orders skipped")
        return result
    accounts = []
    for spec in ACCOUNTS:
        account, created = ChannelAccount.objects.get_or_create(
            name=spec.name, defaults={"marketplace": spec.marketplace}
        )
        result.accounts_created += int(created)
        accounts.append(account)
    anchor = _anchor(accounts)
    # The SKU with the least stock on hand gets a few extra orders, so some lines wait for stock.
    # On hand, not available: reservations made by a first load must not change the choice.
    on_hand = dict(
        StockLevel.objects.filter(sku__in=skus)
        .values("sku_id")
        .annotate(total=Sum("on_hand"))
        .values_list("sku_id", "total")
    )
    scarce = min(skus, key=lambda s: (on_hand.get(s.pk, 0), s.pk))
    for index, (spec, account) in enumerate(zip(ACCOUNTS, accounts, strict=True)):
        plans = _plan_orders(spec, index, skus, scarce, anchor)
        existing = set(
            Order.objects.filter(
                account=account, external_order_id__in=[p.order.external_order_id for p in plans]
            ).values_list("external_order_id", flat=True)
        )
        # Orders whose address changes later are stored first as they came, then re-sent changed.
        originals = [
            p.order for p in plans if p.changed_address and p.order.external_order_id not in existing
        ]
        if originals:
            ingested = orders_ingest(account=account, orders=originals, source=spec.source, actor=actor)
            result.orders_created += ingested.orders_created
            result.lines_created += ingested.lines_created
        final = [p.changed_address or p.order for p in plans]
        ingested = orders_ingest(account=account, orders=final, source=spec.source, actor=actor)
        result.orders_created += ingested.orders_created
        result.lines_created += ingested.lines_created
        result.actions += _apply_actions(account, plans, actor)
    return result


def _apply_actions(account: ChannelAccount, plans: Sequence[_Plan], actor: User | None) -> int:
    wanted = [(line_id, action) for plan in plans for line_id, action in plan.actions]
    if not wanted:
        return 0
    lines = {
        ln.external_line_id: ln
        for ln in OrderLine.objects.filter(account=account, external_line_id__in={w[0] for w in wanted})
    }
    done = 0
    rng = random.Random(SEED)
    for line_id, action in wanted:
        line = lines.get(line_id)
        if line is None:
            continue
        before, target = _ACTION_STEPS[action]
        allowed_before = before if isinstance(before, tuple) else (before,)
        if line.status not in allowed_before:
            continue
        note = (
            rng.choice(CANCEL_REASONS if action == "cancel" else HOLD_REASONS) if action != "confirm" else ""
        )
        try:
            outcome = lines_transition(lines=[line], target=target, actor=actor, note=note)
        except TransitionRefused:  # pragma: no cover - lines_transition reports, never raises
            continue
        if outcome.changed:
            lines[line_id] = outcome.changed[0]
            done += 1
    return done
