"""Writes for the catalog. Product and SKU edits that channels show (name, price, sale state)
mark the SKUs changed in the same transaction, for the channel product push to drain.

Every write validates first and raises CatalogError (nothing written) with a message for the
user, and per-field / per-row messages the forms put next to the inputs."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import product as cartesian_product
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, QuerySet
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import BundleItem, Product, Sku, SkuChange
from inventory.services import mark_stock_dirty
from oms.models import User
from oms.services import audit_record, audit_record_many, field_changes

MAX_PRICE = 100_000_000  # 1억 원: anything above is a typo, not a price
MAX_OPTION_AXES = 3
MAX_MATRIX_SKUS = 200
MAX_BUNDLE_QUANTITY = 999
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
BULK_BATCH = 1000

Status = Product.Status


def sku_mark_changed(sku_ids: Iterable[int]) -> None:
    """Durably note that these SKUs' name, price or sale state changed. Call it inside the
    transaction that made the change; upserts in SKU order (stable lock order)."""
    now = timezone.now()
    rows = [SkuChange(sku_id=sku_id, marked_at=now) for sku_id in sorted(set(sku_ids))]
    if rows:
        SkuChange.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["sku"], update_fields=["marked_at"]
        )


# --- Errors and drafts -----------------------------------------------------------------------------


class CatalogError(Exception):
    """A catalog write that was refused; nothing was written.

    str() is for the user; `fields` {field: message} and `rows` {row index: {field: message}}
    let a form show each message next to its input."""

    def __init__(
        self,
        message: str = "",
        *,
        fields: Mapping[str, str] | None = None,
        rows: Mapping[int, Mapping[str, str]] | None = None,
    ) -> None:
        self.fields = dict(fields or {})
        self.rows = {i: dict(r) for i, r in (rows or {}).items()}
        parts = [message] if message else []
        parts += list(self.fields.values())
        parts += [m for r in self.rows.values() for m in r.values()]
        super().__init__(" ".join(parts) or _("The change was refused."))
        self.message = message


@dataclass(frozen=True)
class ProductDraft:
    code: str
    name: str
    brand: str = ""
    category: str = ""
    sale_price: int = 0
    cost: int = 0
    description: str = ""
    image_urls: Sequence[str] = ()
    option_names: Sequence[str] = ()
    no_merge: bool = False


@dataclass(frozen=True)
class SkuDraft:
    code: str
    option_values: Mapping[str, str] = field(default_factory=dict)
    option_label: str = ""
    extra_price: int = 0
    barcode: str = ""
    cost: int = 0
    safety_stock: int = 0
    low_stock_threshold: int = 0


def code_error(code: str, *, max_length: int = 64) -> str | None:
    """Why a product or SKU code is unusable, or None. Codes are keys every channel and sheet
    shares, so they stay plain: letters, digits, '-', '_' and '.'."""
    if not code:
        return _("Enter a code.")
    if len(code) > max_length:
        return _("At most %(n)d characters (this one has %(len)d).") % {"n": max_length, "len": len(code)}
    if not CODE_RE.match(code):
        return _("Use letters, digits, '-', '_' and '.' only, starting with a letter or digit.")
    return None


def _price_error(price: int) -> str | None:
    if price < 0:
        return _("The price would be %(price)s won: a price cannot be below 0.") % {"price": f"{price:,}"}
    if price > MAX_PRICE:
        return _("The price would be %(price)s won, above the %(max)s won limit.") % {
            "price": f"{price:,}",
            "max": f"{MAX_PRICE:,}",
        }
    return None


def _taken_codes(codes: Iterable[str], *, exclude_pk: int | None = None) -> dict[str, str]:
    """{UPPER(code): existing code} for codes already used by a SKU, ignoring case: "sku-1"
    and "SKU-1" on two options would be one key to a marketplace or a sheet."""
    upper = {c.upper() for c in codes if c}
    if not upper:
        return {}
    qs = Sku.objects.annotate(code_upper=Upper("code")).filter(code_upper__in=upper)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return {code.upper(): code for code in qs.values_list("code", flat=True)}


def _barcode_owners(barcodes: Iterable[str], *, exclude_pk: int | None = None) -> dict[str, str]:
    """{barcode: SKU code} for barcodes already on another SKU (packing scans must be unique)."""
    wanted = {b for b in barcodes if b}
    if not wanted:
        return {}
    qs = Sku.objects.filter(barcode__in=wanted)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return dict(qs.values_list("barcode", "code"))


def _validation_messages(exc: ValidationError) -> dict[str, str]:
    return {name: " ".join(str(m) for m in messages) for name, messages in exc.message_dict.items()}


# --- Audit in bulk -----------------------------------------------------------------------------------


def _bulk_set(model: type[models.Model], field_name: str, rows: Sequence[tuple[int, Any]]) -> None:
    """Set one column (and updated_at) on many rows: [(pk, value), ...].

    Django's bulk_update builds a CASE WHEN per row and spends seconds compiling it at ten
    thousand rows; one UPDATE ... FROM (VALUES ...) per thousand rows is the same write in
    milliseconds. PostgreSQL and SQLite (3.33+) both take it; identifiers come from the model,
    values are parameters."""
    if not rows:
        return
    meta = model._meta

    def column_of(name: str) -> str:
        field = meta.get_field(name)
        assert isinstance(field, models.Field) and field.column
        return connection.ops.quote_name(field.column)

    table = connection.ops.quote_name(meta.db_table)
    column, updated, pk = column_of(field_name), column_of("updated_at"), column_of("id")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BULK_BATCH):
            batch = rows[start : start + BULK_BATCH]
            values = ", ".join(["(%s, %s)"] * len(batch))
            sql = (
                f"UPDATE {table} SET {column} = v.column2, {updated} = %s "  # noqa: S608 - identifiers from the model
                f"FROM (VALUES {values}) AS v WHERE {table}.{pk} = v.column1"
            )
            cursor.execute(sql, [now, *(value for pair in batch for value in pair)])


# --- Option matrix and generated SKU codes -------------------------------------------------------------

# Common option values sellers use, with the short codes Korean SKU lists use for them.
VALUE_CODES = {
    "블랙": "BK",
    "검정": "BK",
    "화이트": "WH",
    "흰색": "WH",
    "아이보리": "IV",
    "네이비": "NV",
    "그레이": "GY",
    "회색": "GY",
    "차콜": "CC",
    "멜란지": "ML",
    "베이지": "BE",
    "브라운": "BR",
    "카멜": "CM",
    "카키": "KH",
    "올리브": "OL",
    "레드": "RD",
    "빨강": "RD",
    "와인": "WN",
    "버건디": "BG",
    "핑크": "PK",
    "코랄": "CO",
    "오렌지": "OR",
    "옐로우": "YL",
    "노랑": "YL",
    "머스타드": "MS",
    "그린": "GN",
    "민트": "MT",
    "블루": "BL",
    "파랑": "BL",
    "스카이블루": "SB",
    "소라": "SB",
    "퍼플": "PU",
    "라벤더": "LV",
    "실버": "SV",
    "골드": "GD",
    "크림": "CR",
    "오트밀": "OM",
    "연청": "LBL",
    "중청": "MBL",
    "진청": "DBL",
    "프리": "F",
    "free": "F",
    "one size": "F",
    "원사이즈": "F",
}

_INITIALS = ["G", "K", "N", "D", "T", "R", "M", "B", "P", "S", "S", "", "J", "J", "C", "K", "T", "P", "H"]
_VOWEL_INITIALS = [
    "A",
    "A",
    "Y",
    "Y",
    "E",
    "E",
    "Y",
    "Y",
    "O",
    "W",
    "W",
    "O",
    "Y",
    "U",
    "W",
    "W",
    "W",
    "Y",
    "E",
    "U",
    "I",
]


def _hangul_initial(char: str) -> str:
    """The first Latin letter of a Hangul syllable in Revised Romanization (라 -> R, 이 -> I)."""
    index = ord(char) - 0xAC00
    initial, medial = index // 588, (index % 588) // 28
    return _INITIALS[initial] or _VOWEL_INITIALS[medial]


def value_code(value: str) -> str:
    """A short, plain code for one option value: 블랙 -> BK, S -> S, 230mm -> 230MM,
    라벤더 -> LV (known), 스트라이프 -> STRIP (first letter of each syllable)."""
    text = unicodedata.normalize("NFC", value.strip())
    known = VALUE_CODES.get(text) or VALUE_CODES.get(text.lower())
    if known:
        return known
    out = []
    for char in text:
        if char.isascii() and char.isalnum():
            out.append(char.upper())
        elif "\uac00" <= char <= "\ud7a3":
            out.append(_hangul_initial(char))
    return "".join(out)[:6]


def axis_codes(values: Sequence[str]) -> list[str]:
    """Codes for one option axis, unique within it (a clash gets 2, 3, ... appended; an empty
    code becomes its position)."""
    out: list[str] = []
    seen: set[str] = set()
    for position, value in enumerate(values, start=1):
        base = value_code(value) or str(position)
        code, n = base, 1
        while code in seen:
            n += 1
            code = f"{base}{n}"
        seen.add(code)
        out.append(code)
    return out


@dataclass(frozen=True)
class MatrixRow:
    values: tuple[str, ...]
    option_label: str
    suggested_code: str
    clash: str = ""  # the existing code the first suggestion ran into, if any

    def option_values(self, names: Sequence[str]) -> dict[str, str]:
        return dict(zip(names, self.values, strict=True))


def option_matrix_errors(axes: Sequence[tuple[str, Sequence[str]]]) -> dict[int, str]:
    """{axis index: message} for option axes that cannot make a matrix."""
    errors: dict[int, str] = {}
    names = [name for name, _values in axes]
    total = 1
    for i, (name, values) in enumerate(axes):
        if not name:
            errors[i] = _("Name this option (e.g. colour).")
        elif names.index(name) != i:
            errors[i] = _("The option name “%(name)s” is used twice.") % {"name": name}
        elif not values:
            errors[i] = _("Give “%(name)s” at least one value.") % {"name": name}
        else:
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                errors[i] = _("“%(name)s” lists %(values)s more than once.") % {
                    "name": name,
                    "values": ", ".join(repeated),
                }
        total *= max(1, len(values))
    if len(axes) > MAX_OPTION_AXES:
        errors[MAX_OPTION_AXES] = _("At most %(n)d options.") % {"n": MAX_OPTION_AXES}
    if total > MAX_MATRIX_SKUS and not errors:
        errors[0] = _("These options make %(total)d SKUs; at most %(max)d per product.") % {
            "total": total,
            "max": MAX_MATRIX_SKUS,
        }
    return errors


def option_matrix(*, product_code: str, axes: Sequence[tuple[str, Sequence[str]]]) -> list[MatrixRow]:
    """Every combination of the option values, in the order given (색상 [블랙, 아이보리] x
    사이즈 [S, M] -> 블랙/S, 블랙/M, 아이보리/S, 아이보리/M), with a suggested SKU code
    PRODUCTCODE-BK-S that no other SKU uses (a clash gets -2, -3, ... appended). No axes:
    one SKU whose code is the product code."""
    if not axes:
        combos: list[tuple[str, ...]] = [()]
        codes: list[list[str]] = []
    else:
        combos = list(cartesian_product(*[values for _name, values in axes]))
        codes = [axis_codes(values) for _name, values in axes]
    # Every code a suggestion could run into starts with the product code: one query.
    taken = {
        code.upper(): code
        for code in Sku.objects.filter(code__istartswith=product_code).values_list("code", flat=True)
    }
    used: set[str] = set()
    rows = []
    for combo in combos:
        parts = [codes[i][axes[i][1].index(value)] for i, value in enumerate(combo)]
        suggestion = "-".join([product_code, *parts])
        code, n = suggestion, 1
        while code.upper() in taken or code.upper() in used:
            n += 1
            code = f"{suggestion}-{n}"
        used.add(code.upper())
        clash = taken.get(suggestion.upper(), "")
        rows.append(MatrixRow(values=combo, option_label=" / ".join(combo), suggested_code=code, clash=clash))
    return rows


# --- Product and SKU writes ---------------------------------------------------------------------------


def _check_sku_drafts(drafts: Sequence[SkuDraft], *, sale_price: int) -> dict[int, dict[str, str]]:
    """Per-row problems of new SKUs: codes (format, repeated, taken), barcodes, prices."""
    rows: dict[int, dict[str, str]] = defaultdict(dict)
    upper = [d.code.upper() for d in drafts]
    taken = _taken_codes(d.code for d in drafts)
    owners = _barcode_owners(d.barcode for d in drafts)
    barcodes = [d.barcode for d in drafts]
    for i, draft in enumerate(drafts):
        problem = code_error(draft.code)
        if problem:
            rows[i]["code"] = problem
        elif upper.count(draft.code.upper()) > 1:
            rows[i]["code"] = _("%(code)s is used on more than one row.") % {"code": draft.code}
        elif draft.code.upper() in taken:
            rows[i]["code"] = _("SKU code %(code)s is already used by another SKU.") % {
                "code": taken[draft.code.upper()]
            }
        if draft.barcode:
            if draft.barcode in owners:
                rows[i]["barcode"] = _("Barcode %(barcode)s is already on SKU %(sku)s.") % {
                    "barcode": draft.barcode,
                    "sku": owners[draft.barcode],
                }
            elif barcodes.count(draft.barcode) > 1:
                rows[i]["barcode"] = _("Barcode %(barcode)s is used on more than one row.") % {
                    "barcode": draft.barcode
                }
        problem = _price_error(sale_price + draft.extra_price)
        if problem:
            rows[i]["extra_price"] = problem
    return dict(rows)


def _new_sku(product: Product, draft: SkuDraft, kind: str = Sku.Kind.SINGLE) -> Sku:
    return Sku(
        product=product,
        code=draft.code,
        kind=kind,
        option_label=draft.option_label[:200],
        option_values=dict(draft.option_values),
        barcode=draft.barcode,
        extra_price=draft.extra_price,
        cost=draft.cost,
        safety_stock=draft.safety_stock,
        low_stock_threshold=draft.low_stock_threshold,
    )


def _clean_product(product: Product) -> None:
    try:
        product.full_clean()
    except ValidationError as exc:
        raise CatalogError(fields=_validation_messages(exc)) from exc


def _product_from_draft(draft: ProductDraft) -> Product:
    problem = code_error(draft.code, max_length=50)
    if problem:
        raise CatalogError(fields={"code": problem})
    if Product.objects.annotate(code_upper=Upper("code")).filter(code_upper=draft.code.upper()).exists():
        raise CatalogError(fields={"code": _("Product code %(code)s already exists.") % {"code": draft.code}})
    product = Product(
        code=draft.code,
        name=draft.name.strip(),
        brand=draft.brand.strip(),
        category=draft.category.strip(),
        sale_price=draft.sale_price,
        cost=draft.cost,
        description=draft.description,
        image_urls=list(draft.image_urls),
        option_names=list(draft.option_names),
        no_merge=draft.no_merge,
    )
    _clean_product(product)
    return product


def _save_new(obj: models.Model, message: str) -> None:
    """Insert, turning a unique-key race (someone took the code a moment ago) into a refusal."""
    try:
        with transaction.atomic():
            obj.save(force_insert=True)
    except IntegrityError as exc:
        raise CatalogError(message) from exc


@transaction.atomic
def product_create(*, actor: User | None, draft: ProductDraft, skus: Sequence[SkuDraft]) -> Product:
    """A product and its SKUs (the option matrix), all or nothing."""
    if not skus:
        raise CatalogError(_("A product needs at least one SKU."))
    product = _product_from_draft(draft)
    rows = _check_sku_drafts(skus, sale_price=draft.sale_price)
    if rows:
        raise CatalogError(_("Some SKUs need fixing."), rows=rows)
    _save_new(product, _("Product code %(code)s was just taken; choose another.") % {"code": draft.code})
    new_skus = [_new_sku(product, d) for d in skus]
    try:
        with transaction.atomic():
            Sku.objects.bulk_create(new_skus)
    except IntegrityError as exc:
        raise CatalogError(_("One of the SKU codes was just taken; check the codes and save again.")) from exc
    audit_record(
        actor=actor,
        action="product.create",
        obj=product,
        changes={
            "code": product.code,
            "name": product.name,
            "sale_price": product.sale_price,
            "skus": [s.code for s in new_skus],
        },
    )
    return product


PRODUCT_FIELDS = ("name", "brand", "category", "sale_price", "cost", "description", "image_urls", "no_merge")


@transaction.atomic
def product_update(*, actor: User | None, product: Product, values: Mapping[str, Any]) -> Product:
    """Edit a product's own fields. A new name or base price is what channels show: every SKU
    of the product is marked changed."""
    unknown = set(values) - set(PRODUCT_FIELDS)
    if unknown:
        raise ValueError(f"not product fields: {sorted(unknown)}")
    product = Product.objects.select_for_update().get(pk=product.pk)
    values = {k: v.strip() if isinstance(v, str) and k != "description" else v for k, v in values.items()}
    changes = field_changes(product, values)
    if not changes:
        return product
    if "sale_price" in changes:
        lowest = product.skus.order_by("extra_price").values_list("extra_price", flat=True).first() or 0
        highest = product.skus.order_by("-extra_price").values_list("extra_price", flat=True).first() or 0
        problem = _price_error(values["sale_price"] + lowest) or _price_error(values["sale_price"] + highest)
        if problem:
            raise CatalogError(
                fields={"sale_price": _("With the options' extra prices: %(why)s") % {"why": problem}}
            )
    for name, value in values.items():
        setattr(product, name, value)
    _clean_product(product)
    product.save(update_fields=[*changes, "updated_at"])
    audit_record(actor=actor, action="product.update", obj=product, changes=changes)
    if {"name", "sale_price"} & changes.keys():
        sku_mark_changed(product.skus.values_list("pk", flat=True))
    return product


@transaction.atomic
def sku_add(*, actor: User | None, product: Product, draft: SkuDraft) -> Sku:
    """One more single SKU (option) on an existing product."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    rows = _check_sku_drafts([draft], sale_price=product.sale_price)
    if rows:
        raise CatalogError(fields=rows[0])
    sku = _new_sku(product, draft)
    _save_new(sku, _("SKU code %(code)s was just taken; choose another.") % {"code": draft.code})
    audit_record(
        actor=actor,
        action="sku.create",
        obj=sku,
        changes={"product": product.code, "option": sku.option_label, "extra_price": sku.extra_price},
    )
    product_status_sync(actor=actor, product_ids=[product.pk])
    return sku


SKU_FIELDS = (
    "option_label",
    "barcode",
    "extra_price",
    "cost",
    "safety_stock",
    "low_stock_threshold",
    "status",
    "is_active",
)
# What channels show for a SKU: a change here needs a product push.
_CHANNEL_FIELDS = {"option_label", "extra_price", "status", "is_active"}
# What changes the quantity a channel may sell: a change here needs a stock push.
_STOCK_FIELDS = {"safety_stock", "is_active"}


@transaction.atomic
def sku_update(*, actor: User | None, sku: Sku, values: Mapping[str, Any]) -> Sku:
    """Edit one SKU in place (the product page's row). Price is the product's base price plus
    the SKU's extra price and may not fall below 0; barcodes stay unique."""
    unknown = set(values) - set(SKU_FIELDS)
    if unknown:
        raise ValueError(f"not SKU fields: {sorted(unknown)}")
    sku = Sku.objects.select_for_update().select_related("product").get(pk=sku.pk)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    changes = field_changes(sku, values)
    if not changes:
        return sku
    errors: dict[str, str] = {}
    if "extra_price" in changes:
        problem = _price_error(sku.product.sale_price + values["extra_price"])
        if problem:
            errors["extra_price"] = problem
    if "barcode" in changes and values["barcode"]:
        owners = _barcode_owners([values["barcode"]], exclude_pk=sku.pk)
        if owners:
            errors["barcode"] = _("Barcode %(barcode)s is already on SKU %(sku)s.") % {
                "barcode": values["barcode"],
                "sku": owners[values["barcode"]],
            }
    if "status" in changes and values["status"] not in Status.values:
        errors["status"] = _("Choose a sale status.")
    for name, value in values.items():
        setattr(sku, name, value)
    try:
        sku.full_clean(exclude=["product", "code", "option_values"], validate_unique=False)
    except ValidationError as exc:
        errors = {**_validation_messages(exc), **errors}
    if errors:
        raise CatalogError(fields=errors)
    sku.save(update_fields=[*changes, "updated_at"])
    changes_for_audit = dict(changes)
    if "extra_price" in changes:
        base = sku.product.sale_price
        changes_for_audit["price"] = [base + changes["extra_price"][0], base + changes["extra_price"][1]]
    audit_record(actor=actor, action="sku.update", obj=sku, changes=changes_for_audit)
    if _CHANNEL_FIELDS & changes.keys():
        sku_mark_changed([sku.pk])
    if _STOCK_FIELDS & changes.keys():
        mark_stock_dirty([sku.pk])
    if {"status", "is_active"} & changes.keys():
        product_status_sync(actor=actor, product_ids=[sku.product_id])
    return sku


def _summary_status(statuses: set[str]) -> str:
    if Status.ON_SALE in statuses:
        return Status.ON_SALE
    if Status.SOLD_OUT in statuses:
        return Status.SOLD_OUT
    return Status.DISCONTINUED


def product_status_sync(*, actor: User | None, product_ids: Iterable[int]) -> int:
    """Keep each product's status the summary of its SKUs': on sale while any active SKU is on
    sale, else sold out while any is sold out, else discontinued. Returns how many changed.

    Call it inside the transaction of any write that adds SKUs or changes their status or
    active flag (the product Excel import too)."""
    ids = set(product_ids)
    if not ids:
        return 0
    statuses: dict[int, set[str]] = defaultdict(set)
    any_active: set[int] = set()
    for product_id, status, active in (
        Sku.objects.filter(product_id__in=ids).values_list("product_id", "status", "is_active").distinct()
    ):
        if active:
            if product_id not in any_active:
                statuses[product_id] = set()
                any_active.add(product_id)
            statuses[product_id].add(status)
        elif product_id not in any_active:
            statuses[product_id].add(status)
    changed = []
    for product in Product.objects.filter(pk__in=statuses.keys()).only("pk", "code", "name", "status"):
        summary = _summary_status(statuses[product.pk])
        if product.status != summary:
            changed.append((product, product.status, summary))
    if changed:
        _bulk_set(Product, "status", [(p.pk, new) for p, _old, new in changed])
        audit_record_many(
            actor=actor,
            action="product.status",
            model=Product,
            entries=((p.pk, str(p), {"status": [old, new]}) for p, old, new in changed),
        )
    return len(changed)


@transaction.atomic
def product_set_sku_status(*, actor: User | None, product: Product, status: str) -> BulkResult:
    """Set the sale status of every SKU of one product (the product page's buttons)."""
    return sku_bulk_status(actor=actor, skus=Sku.objects.filter(product=product), status=status)


# --- Bundles (세트상품) ----------------------------------------------------------------------------------


def _component_errors(bundle_pk: int | None, components: Sequence[tuple[Sku, int]]) -> list[str]:
    errors = []
    if not components:
        errors.append(_("A bundle needs at least one component."))
    seen: set[int] = set()
    for component, quantity in components:
        if bundle_pk is not None and component.pk == bundle_pk:
            errors.append(_("A bundle cannot contain itself."))
        elif component.kind == Sku.Kind.BUNDLE:
            errors.append(
                _("%(code)s is a bundle; a bundle is made of single SKUs only.") % {"code": component.code}
            )
        if component.pk in seen:
            errors.append(_("%(code)s is listed twice.") % {"code": component.code})
        seen.add(component.pk)
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not 1 <= quantity <= MAX_BUNDLE_QUANTITY
        ):
            errors.append(
                _("%(code)s: the quantity must be a whole number from 1 to %(max)d.")
                % {"code": component.code, "max": MAX_BUNDLE_QUANTITY}
            )
    return errors


def _components_repr(items: Iterable[tuple[str, int]]) -> list[str]:
    return [f"{code} x{quantity}" for code, quantity in items]


_BUNDLE_PRODUCT_FIELDS = {"code": "product_code", "name": "product_name"}


@transaction.atomic
def bundle_create(
    *,
    actor: User | None,
    product: Product | ProductDraft,
    draft: SkuDraft,
    components: Sequence[tuple[Sku, int]],
) -> Sku:
    """A bundle SKU (세트상품) of single SKUs x quantity, on an existing product or on a new one
    made in the same transaction. Its sellable quantity is derived from the components
    (inventory.selectors.available_map), never stored."""
    # Re-read the components: their kind decides whether they may be used.
    fresh = {s.pk: s for s in Sku.objects.filter(pk__in=[c.pk for c, _q in components])}
    components = [(fresh.get(c.pk, c), q) for c, q in components]
    errors = _component_errors(None, components)
    if isinstance(product, ProductDraft):
        try:
            new_product: Product | None = _product_from_draft(product)
        except CatalogError as exc:
            # The bundle form names the new product's fields product_*; its own code is "code".
            renamed = {_BUNDLE_PRODUCT_FIELDS.get(k, k): v for k, v in exc.fields.items()}
            raise CatalogError(exc.message, fields=renamed) from exc
        sale_price = product.sale_price
    else:
        new_product = None
        product = Product.objects.select_for_update().get(pk=product.pk)
        sale_price = product.sale_price
    rows = _check_sku_drafts([draft], sale_price=sale_price)
    if errors or rows:
        raise CatalogError(" ".join(errors), fields=rows.get(0, {}))
    if new_product is not None:
        _save_new(
            new_product,
            _("Product code %(code)s was just taken; choose another.") % {"code": new_product.code},
        )
        audit_record(
            actor=actor,
            action="product.create",
            obj=new_product,
            changes={
                "code": new_product.code,
                "name": new_product.name,
                "sale_price": new_product.sale_price,
            },
        )
        product = new_product
    assert isinstance(product, Product)
    bundle = _new_sku(product, draft, kind=Sku.Kind.BUNDLE)
    _save_new(bundle, _("SKU code %(code)s was just taken; choose another.") % {"code": draft.code})
    BundleItem.objects.bulk_create(
        [BundleItem(bundle=bundle, component=c, quantity=q) for c, q in components]
    )
    audit_record(
        actor=actor,
        action="bundle.create",
        obj=bundle,
        changes={"product": product.code, "components": _components_repr((c.code, q) for c, q in components)},
    )
    mark_stock_dirty([bundle.pk])
    product_status_sync(actor=actor, product_ids=[product.pk])
    return bundle


@transaction.atomic
def bundle_set_components(*, actor: User | None, bundle: Sku, components: Sequence[tuple[Sku, int]]) -> Sku:
    """Replace a bundle's components. The bundle's sellable quantity changes with them, so it is
    marked for the next stock push."""
    bundle = Sku.objects.select_for_update().get(pk=bundle.pk)
    if bundle.kind != Sku.Kind.BUNDLE:
        raise CatalogError(_("%(code)s is a single SKU, not a bundle.") % {"code": bundle.code})
    fresh = {s.pk: s for s in Sku.objects.filter(pk__in=[c.pk for c, _q in components])}
    components = [(fresh.get(c.pk, c), q) for c, q in components]
    errors = _component_errors(bundle.pk, components)
    if errors:
        raise CatalogError(" ".join(errors))
    old = list(bundle.components.order_by("pk").values_list("component__code", "quantity"))
    new = [(c.code, q) for c, q in components]
    if sorted(old) == sorted(new):
        return bundle
    bundle.components.all().delete()
    BundleItem.objects.bulk_create(
        [BundleItem(bundle=bundle, component=c, quantity=q) for c, q in components]
    )
    audit_record(
        actor=actor,
        action="bundle.components",
        obj=bundle,
        changes={"components": [_components_repr(old), _components_repr(new)]},
    )
    mark_stock_dirty([bundle.pk])
    return bundle


# --- Bulk edit from the product list ------------------------------------------------------------------


class PriceMode(models.TextChoices):
    SET = "set", gettext_lazy("Set to")
    ADD = "add", gettext_lazy("Raise by (won)")
    SUBTRACT = "subtract", gettext_lazy("Lower by (won)")
    PERCENT_UP = "percent_up", gettext_lazy("Raise by (%)")
    PERCENT_DOWN = "percent_down", gettext_lazy("Lower by (%)")


class NameMode(models.TextChoices):
    ADD_PREFIX = "add_prefix", gettext_lazy("Add in front")
    ADD_SUFFIX = "add_suffix", gettext_lazy("Add at the end")
    REMOVE_PREFIX = "remove_prefix", gettext_lazy("Remove from the front")
    REMOVE_SUFFIX = "remove_suffix", gettext_lazy("Remove from the end")


def round_to_10(value: Decimal | int) -> int:
    """Round half up to the nearest 10 won (39,995 -> 40,000; 39,994 -> 39,990)."""
    return int((Decimal(value) / 10).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * 10


def price_after(price: int, *, mode: str, amount: Decimal) -> int:
    """A price after one bulk price operation, rounded to 10 won."""
    if mode == PriceMode.SET:
        result = Decimal(amount)
    elif mode == PriceMode.ADD:
        result = price + Decimal(amount)
    elif mode == PriceMode.SUBTRACT:
        result = price - Decimal(amount)
    elif mode == PriceMode.PERCENT_UP:
        result = price * (1 + Decimal(amount) / 100)
    elif mode == PriceMode.PERCENT_DOWN:
        result = price * (1 - Decimal(amount) / 100)
    else:
        raise ValueError(f"unknown price mode {mode!r}")
    return round_to_10(result)


def name_after(name: str, *, mode: str, text: str) -> str:
    """A product name after adding or removing a prefix/suffix; a word already there is not
    added twice, and one space separates it from the name."""
    text = text.strip()
    if not text:
        return name
    if mode == NameMode.ADD_PREFIX:
        return name if name.startswith(text) else f"{text} {name}"
    if mode == NameMode.ADD_SUFFIX:
        return name if name.endswith(text) else f"{name} {text}"
    if mode == NameMode.REMOVE_PREFIX:
        return name[len(text) :].lstrip() if name.startswith(text) else name
    if mode == NameMode.REMOVE_SUFFIX:
        return name[: -len(text)].rstrip() if name.endswith(text) else name
    raise ValueError(f"unknown name mode {mode!r}")


@dataclass(frozen=True)
class ChangeLine:
    """One row of a bulk-edit preview: what, old -> new, and why it is refused (if it is)."""

    pk: int
    code: str
    label: str
    old: Any
    new: Any
    problem: str = ""


@dataclass
class BulkPreview:
    selected: int = 0
    changed: int = 0
    unchanged: int = 0
    sample: list[ChangeLine] = field(default_factory=list)
    refused: list[ChangeLine] = field(default_factory=list)
    refused_count: int = 0
    products_changed: int = 0

    SAMPLE = 50

    def add(self, line: ChangeLine) -> None:
        if line.problem:
            self.refused_count += 1
            if len(self.refused) < self.SAMPLE:
                self.refused.append(line)
        elif line.old == line.new:
            self.unchanged += 1
        else:
            self.changed += 1
            if len(self.sample) < self.SAMPLE:
                self.sample.append(line)

    @property
    def ok(self) -> bool:
        return self.refused_count == 0


@dataclass(frozen=True)
class BulkResult:
    changed: int
    unchanged: int
    products_changed: int = 0


def _selection(skus: QuerySet[Sku]) -> QuerySet[Sku]:
    """The selected SKUs as a plain query (no annotations or joins from the list filters), in
    primary-key order: the order rows are locked and written in."""
    return Sku.objects.filter(pk__in=skus.values("pk")).order_by("pk")


@dataclass(frozen=True)
class _PriceRow:
    line: ChangeLine
    product_id: int
    old_extra: int
    new_extra: int


def _price_rows(
    skus: QuerySet[Sku], *, mode: str, amount: Decimal, lock: bool
) -> tuple[Iterator[_PriceRow], dict[int, tuple[str, int, int]]]:
    """New price per selected SKU, and new base prices {product_id: (code, old, new)}.

    When every SKU of a product is selected, the product's base price moves by the same
    operation and the extra prices are what is left, so +10% on a whole product raises its
    base price rather than giving every option a +10% extra price. A partly selected product
    keeps its base; only the selected options' extra prices change. Either way each selected
    SKU ends at exactly price_after(its price)."""
    selection = _selection(skus)
    selected_per_product = dict(
        selection.order_by().values("product_id").annotate(n=Count("pk")).values_list("product_id", "n")
    )
    total_per_product = dict(
        Sku.objects.filter(product_id__in=selection.values("product_id"))
        .order_by()
        .values("product_id")
        .annotate(n=Count("pk"))
        .values_list("product_id", "n")
    )
    bases: dict[int, tuple[str, int, int]] = {}
    for pk, code, sale_price in Product.objects.filter(pk__in=selection.values("product_id")).values_list(
        "pk", "code", "sale_price"
    ):
        new_base = sale_price
        if selected_per_product[pk] == total_per_product.get(pk):
            candidate = price_after(sale_price, mode=mode, amount=amount)
            if 0 <= candidate <= MAX_PRICE:
                new_base = candidate
        bases[pk] = (code, sale_price, new_base)

    def rows() -> Iterator[_PriceRow]:
        qs = selection.select_for_update() if lock else selection
        for pk, code, label, product_id, extra in qs.values_list(
            "pk", "code", "option_label", "product_id", "extra_price"
        ).iterator(chunk_size=2000):
            _code, old_base, new_base = bases[product_id]
            old_price = old_base + extra
            new_price = price_after(old_price, mode=mode, amount=amount)
            line = ChangeLine(pk, code, label, old_price, new_price, _price_error(new_price) or "")
            yield _PriceRow(line, product_id, extra, new_price - new_base)

    return rows(), bases


def sku_bulk_price_preview(*, skus: QuerySet[Sku], mode: str, amount: Decimal) -> BulkPreview:
    rows, bases = _price_rows(skus, mode=mode, amount=amount, lock=False)
    preview = BulkPreview()
    for row in rows:
        preview.selected += 1
        preview.add(row.line)
    preview.products_changed = sum(1 for _c, old, new in bases.values() if old != new)
    return preview


@transaction.atomic
def sku_bulk_price(*, actor: User | None, skus: QuerySet[Sku], mode: str, amount: Decimal) -> BulkResult:
    """Change the price of every selected SKU (absolute, +/- won, +/- percent; rounded to 10
    won). All or nothing: one SKU whose price would fall below 0 refuses the whole change."""
    if mode not in PriceMode.values:
        raise CatalogError(_("Choose how to change the price."))
    rows, bases = _price_rows(skus, mode=mode, amount=amount, lock=True)
    changed: list[int] = []
    extras: list[tuple[int, int]] = []
    audit: list[tuple[int, str, dict]] = []
    refused: list[ChangeLine] = []
    unchanged = 0
    for row in rows:
        line = row.line
        if line.problem:
            refused.append(line)
            continue
        if line.old == line.new and row.old_extra == row.new_extra:
            unchanged += 1
            continue
        changed.append(line.pk)
        if row.new_extra != row.old_extra:
            # When the base price moved, many options keep their extra price: no write.
            extras.append((line.pk, row.new_extra))
        audit.append(
            (
                line.pk,
                f"{line.code} {line.label}".strip(),
                {"price": [line.old, line.new], "extra_price": [row.old_extra, row.new_extra]},
            )
        )
    if refused:
        shown = ", ".join(f"{r.code} ({r.new:,})" for r in refused[:5])
        raise CatalogError(
            _("Nothing was changed: %(count)d SKUs would get a price below 0 or above the limit: %(skus)s")
            % {"count": len(refused), "skus": shown}
        )
    _bulk_set(Sku, "extra_price", extras)
    base_changed = [(pk, code, old, new) for pk, (code, old, new) in bases.items() if old != new]
    if base_changed:
        _bulk_set(Product, "sale_price", [(pk, new) for pk, _c, _o, new in base_changed])
        audit_record_many(
            actor=actor,
            action="product.bulk_price",
            model=Product,
            entries=((pk, code, {"sale_price": [old, new]}) for pk, code, old, new in base_changed),
        )
    audit_record_many(actor=actor, action="sku.bulk_price", model=Sku, entries=audit)
    sku_mark_changed(changed)
    return BulkResult(changed=len(changed), unchanged=unchanged, products_changed=len(base_changed))


def _rename_rows(skus: QuerySet[Sku], *, mode: str, text: str, lock: bool) -> Iterator[ChangeLine]:
    products = Product.objects.filter(pk__in=_selection(skus).values("product_id")).order_by("pk")
    if lock:
        products = products.select_for_update()
    for pk, code, name in products.values_list("pk", "code", "name").iterator(chunk_size=2000):
        new = name_after(name, mode=mode, text=text)
        problem = ""
        if not new.strip():
            problem = _("The name would be empty.")
        elif len(new) > 200:
            problem = _("The name would be %(n)d characters long; at most 200.") % {"n": len(new)}
        yield ChangeLine(pk, code, "", name, new, problem)


def product_bulk_rename_preview(*, skus: QuerySet[Sku], mode: str, text: str) -> BulkPreview:
    preview = BulkPreview(selected=_selection(skus).count())
    for line in _rename_rows(skus, mode=mode, text=text, lock=False):
        preview.add(line)
    preview.products_changed = preview.changed
    return preview


@transaction.atomic
def product_bulk_rename(*, actor: User | None, skus: QuerySet[Sku], mode: str, text: str) -> BulkResult:
    """Add or remove a prefix/suffix on the names of the selected SKUs' products. Every SKU of a
    renamed product is marked changed (channels show the product name on each option)."""
    if mode not in NameMode.values:
        raise CatalogError(_("Choose how to change the name."))
    if not text.strip():
        raise CatalogError(fields={"name_text": _("Enter the words to add or remove.")})
    lines = list(_rename_rows(skus, mode=mode, text=text, lock=True))
    refused = [line for line in lines if line.problem]
    if refused:
        shown = ", ".join(f"{r.code}: {r.problem}" for r in refused[:5])
        raise CatalogError(
            _("Nothing was changed: %(count)d product names cannot take this change (%(products)s).")
            % {"count": len(refused), "products": shown}
        )
    changed = [line for line in lines if line.old != line.new]
    _bulk_set(Product, "name", [(line.pk, line.new) for line in changed])
    audit_record_many(
        actor=actor,
        action="product.bulk_rename",
        model=Product,
        entries=((line.pk, line.code, {"name": [line.old, line.new]}) for line in changed),
    )
    changed_ids = [line.pk for line in changed]
    for start in range(0, len(changed_ids), BULK_BATCH):
        batch = changed_ids[start : start + BULK_BATCH]
        sku_mark_changed(Sku.objects.filter(product_id__in=batch).values_list("pk", flat=True))
    return BulkResult(
        changed=len(changed), unchanged=len(lines) - len(changed), products_changed=len(changed)
    )


def sku_bulk_status_preview(*, skus: QuerySet[Sku], status: str) -> BulkPreview:
    preview = BulkPreview()
    for pk, code, label, old in (
        _selection(skus).values_list("pk", "code", "option_label", "status").iterator(chunk_size=2000)
    ):
        preview.selected += 1
        preview.add(ChangeLine(pk, code, label, Status(old).label, Status(status).label))
    return preview


@transaction.atomic
def sku_bulk_status(*, actor: User | None, skus: QuerySet[Sku], status: str) -> BulkResult:
    """Mark the selected SKUs on sale, sold out or discontinued; each product's status follows
    (on sale while any of its SKUs is)."""
    if status not in Status.values:
        raise CatalogError(_("Choose a sale status."))
    selection = _selection(skus).select_for_update()
    rows = list(
        selection.exclude(status=status).values_list("pk", "code", "option_label", "status", "product_id")
    )
    unchanged = selection.filter(status=status).count()
    if rows:
        selection.exclude(status=status).update(status=status, updated_at=timezone.now())
        audit_record_many(
            actor=actor,
            action="sku.bulk_status",
            model=Sku,
            entries=(
                (pk, f"{code} {label}".strip(), {"status": [old, status]})
                for pk, code, label, old, _p in rows
            ),
        )
        sku_mark_changed(r[0] for r in rows)
    products = product_status_sync(actor=actor, product_ids={r[4] for r in rows})
    return BulkResult(changed=len(rows), unchanged=unchanged, products_changed=products)
