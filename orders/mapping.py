"""매칭 and 재할당: the writes behind the 매칭 and 재고 부족 pages.

A mapping is saved under the key ingestion looks up first (account, channel product id,
option key), so it is remembered for every later order. Saving one also maps every waiting
unmapped line of that key in the same transaction (LineSku = item quantity x line quantity,
an OrderEvent MAPPED with the user) and reserves their stock oldest first through
orders.ingest.reserve_lines: a line that cannot be fully reserved is flagged BACKORDER, never
over-reserved. Lines are locked (pk order) before stock, the order ingestion and the line
state machine use, and re-read under the lock, so running any of this twice, or at the same
time as a cancel, maps and reserves each line once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import BundleItem, Sku
from channels.models import ChannelAccount, OptionMapping, OptionMappingItem
from channels.types import ChannelOrderLine
from oms.models import User
from oms.services import audit_record
from orders.ingest import option_key as channel_option_key
from orders.ingest import reserve_lines
from orders.models import RESERVING_STATES, LineSku, LineStatus, OrderEvent, OrderLine
from orders.selectors_matching import line_option_key, mappings_for_keys

MAX_ITEMS = 20
MAX_ITEM_QUANTITY = 999
# Keys whose lines are locked with one query; lines reserved per transaction by 재할당.
KEYS_PER_QUERY = 200
REASSIGN_CHUNK = 500

Key = tuple[int, str, str]  # (account id, channel product id, option key)
Items = list[tuple[int, int]]  # [(sku id, quantity per ordered unit)]


class MappingError(Exception):
    """A mapping that was refused; nothing was written. `errors` are for the user."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__(" ".join(self.errors))


@dataclass
class MapCounts:
    mapped: int = 0
    reserved: int = 0
    short: int = 0

    def add(self, other: MapCounts) -> None:
        self.mapped += other.mapped
        self.reserved += other.reserved
        self.short += other.short


@dataclass
class MappingSaveResult:
    mapping: OptionMapping
    created: bool
    changed: bool
    counts: MapCounts


@dataclass
class AutoMatchResult:
    mappings_created: int = 0
    groups_mapped: int = 0
    mapped: int = 0
    reserved: int = 0
    short: int = 0
    # Groups whose lines point at different SKUs: left for a person to map.
    conflicts: int = 0
    unmatched: int = 0


@dataclass
class ReassignResult:
    reserved: int = 0
    short: int = 0


# --- Validation ------------------------------------------------------------------------------------


def _clean_key(channel_product_id: str, option_key: str) -> tuple[str, str]:
    product_id, key = channel_product_id.strip(), option_key.strip()
    errors = []
    if not product_id and not key:
        errors.append(_("Enter the channel product id or the option: a mapping needs at least one of them."))
    if len(product_id) > 100:
        errors.append(_("The channel product id is longer than 100 characters."))
    if len(key) > 300:
        errors.append(_("The option is longer than 300 characters."))
    if errors:
        raise MappingError(errors)
    return product_id, key


def _clean_items(items: Sequence[tuple[Sku, int]]) -> list[tuple[Sku, int]]:
    """The items re-read from the database: every SKU active (a bundle with components),
    listed once, quantity a whole number from 1 to MAX_ITEM_QUANTITY."""
    if not items:
        raise MappingError([_("Add at least one SKU.")])
    if len(items) > MAX_ITEMS:
        raise MappingError([_("A mapping holds at most %(n)d SKUs.") % {"n": MAX_ITEMS}])
    fresh = Sku.objects.in_bulk([sku.pk for sku, _q in items])
    with_components = set(
        BundleItem.objects.filter(bundle_id__in=list(fresh)).values_list("bundle_id", flat=True).distinct()
    )
    errors: list[str] = []
    seen: set[int] = set()
    out: list[tuple[Sku, int]] = []
    for sku, quantity in items:
        current = fresh.get(sku.pk)
        if current is None:
            errors.append(_("SKU %(sku)s no longer exists.") % {"sku": sku.code})
            continue
        if not current.is_active:
            errors.append(_("%(sku)s is inactive: only active SKUs can be mapped.") % {"sku": current.code})
        elif current.is_bundle and current.pk not in with_components:
            errors.append(
                _("%(sku)s is a bundle without components: add its components first.") % {"sku": current.code}
            )
        if current.pk in seen:
            errors.append(
                _("%(sku)s is listed twice: list it once with the total quantity.") % {"sku": current.code}
            )
        seen.add(current.pk)
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not 1 <= quantity <= MAX_ITEM_QUANTITY
        ):
            errors.append(
                _("%(sku)s: the quantity must be a whole number from 1 to %(max)d (got %(q)s).")
                % {"sku": current.code, "max": MAX_ITEM_QUANTITY, "q": quantity}
            )
        out.append((current, quantity))
    if errors:
        raise MappingError(errors)
    return out


def _label(items: Iterable[tuple[int, int]], codes: dict[int, str]) -> str:
    return " + ".join(f"{codes.get(sku_id, sku_id)} ×{quantity}" for sku_id, quantity in items)


# --- Mapping lines -----------------------------------------------------------------------------------


def _lock_waiting(keys: Iterable[Key]) -> dict[Key, list[OrderLine]]:
    """The unmapped lines of each key, locked in pk order and re-read under the lock (a line
    another transaction mapped meanwhile is no longer unmapped and drops out)."""
    wanted = set(keys)
    out: dict[Key, list[OrderLine]] = defaultdict(list)
    ordered = sorted(wanted)
    for start in range(0, len(ordered), KEYS_PER_QUERY):
        condition = Q()
        for account_id, product_id, key in ordered[start : start + KEYS_PER_QUERY]:
            condition |= Q(account_id=account_id, channel_product_id=product_id) & (
                Q(channel_option_id=key) | Q(channel_option_id="")
            )
        for line in OrderLine.objects.filter(condition, unmapped=True).order_by("pk").select_for_update():
            found = (line.account_id, line.channel_product_id, line_option_key(line))
            if found in wanted:
                out[found].append(line)
    return out


def _map_lines(
    lines_by_key: dict[Key, list[OrderLine]],
    items_by_key: dict[Key, Items],
    mapping_ids: dict[Key, int],
    *,
    actor: User | None,
) -> MapCounts:
    """Give locked unmapped lines their SKUs (item quantity x line quantity), write a MAPPED
    event each, then reserve the ones in a stock-holding state, oldest first across all keys."""
    sku_ids = {sku_id for items in items_by_key.values() for sku_id, _q in items}
    codes = dict(Sku.objects.filter(pk__in=sku_ids).values_list("pk", "code"))
    now = timezone.now()
    lines: list[OrderLine] = []
    line_skus: list[LineSku] = []
    events: list[OrderEvent] = []
    for key, key_lines in lines_by_key.items():
        items = items_by_key[key]
        for line in key_lines:
            allocation = [(sku_id, per_unit * line.quantity) for sku_id, per_unit in items]
            line_skus += [LineSku(line=line, sku_id=sku_id, quantity=q) for sku_id, q in allocation]
            line.unmapped = False
            line.updated_at = now
            lines.append(line)
            events.append(
                OrderEvent(
                    order_id=line.order_id,
                    line=line,
                    type=OrderEvent.Type.MAPPED,
                    message=_label(allocation, codes)[:500],
                    data={
                        "mapping": mapping_ids.get(key),
                        "skus": [[codes.get(s, s), q] for s, q in allocation],
                    },
                    user=actor,
                )
            )
    if not lines:
        return MapCounts()
    LineSku.objects.bulk_create(line_skus)
    OrderLine.objects.bulk_update(lines, ["unmapped", "updated_at"])
    OrderEvent.objects.bulk_create(events)
    reserved, short = reserve_lines([ln for ln in lines if ln.status in RESERVING_STATES], actor=actor)
    return MapCounts(mapped=len(lines), reserved=len(reserved), short=len(short))


# --- Saving and deleting mappings ---------------------------------------------------------------------


@transaction.atomic
def option_mapping_save(
    *,
    account: ChannelAccount,
    channel_product_id: str,
    option_key: str,
    product_name: str,
    option_text: str,
    items: Sequence[tuple[Sku, int]],
    actor: User | None,
) -> MappingSaveResult:
    """Create or replace the mapping of (account, channel product, option) with `items`
    [(sku, quantity per ordered unit)], then map and reserve every waiting unmapped line of
    it. Lines mapped before keep their SKUs: a new mapping applies to waiting and later orders."""
    product_id, key = _clean_key(channel_product_id, option_key)
    clean = _clean_items(items)
    mapping, created = OptionMapping.objects.get_or_create(
        account=account,
        channel_product_id=product_id,
        option_key=key,
        defaults={
            "product_name": product_name.strip()[:300],
            "option_text": option_text.strip()[:300],
            "created_by": actor if actor is not None and actor.is_authenticated else None,
        },
    )
    if not created:
        # Two people saving the same option at once: one after the other, the last one wins.
        mapping = OptionMapping.objects.select_for_update().get(pk=mapping.pk)
    old = sorted(mapping.items.values_list("sku_id", "quantity"))
    new = sorted((sku.pk, quantity) for sku, quantity in clean)
    codes = {sku.pk: sku.code for sku, _q in clean}
    codes.update(Sku.objects.filter(pk__in=[s for s, _q in old]).values_list("pk", "code"))
    if old != new:
        mapping.items.all().delete()
        OptionMappingItem.objects.bulk_create(
            [OptionMappingItem(mapping=mapping, sku=sku, quantity=quantity) for sku, quantity in clean]
        )
    names = {"product_name": product_name.strip()[:300], "option_text": option_text.strip()[:300]}
    renamed = {k: v for k, v in names.items() if v and v != getattr(mapping, k)}
    if renamed and not created:
        for name, value in renamed.items():
            setattr(mapping, name, value)
        mapping.save(update_fields=list(renamed))

    key_of = (account.pk, product_id, key)
    counts = _map_lines(_lock_waiting([key_of]), {key_of: new}, {key_of: mapping.pk}, actor=actor)
    changed = created or old != new
    if changed or counts.mapped:
        changes: dict[str, object] = {"items": [_label(old, codes) or None, _label(new, codes)]}
        if created:
            changes.update({"account": account.name, "channel_product_id": product_id, "option": key})
        changes.update({"lines_mapped": counts.mapped, "reserved": counts.reserved, "short": counts.short})
        audit_record(
            actor=actor,
            action="option_mapping.create" if created else "option_mapping.update",
            obj=mapping,
            changes=changes,
        )
    return MappingSaveResult(mapping=mapping, created=created, changed=changed, counts=counts)


@transaction.atomic
def option_mapping_delete(*, mapping: OptionMapping, actor: User | None) -> None:
    """Forget a mapping. Only later orders feel it (they come in unmapped again); lines that
    were mapped with it keep their SKUs and reservations."""
    codes = dict(Sku.objects.filter(pk__in=mapping.items.values("sku_id")).values_list("pk", "code"))
    items = sorted(mapping.items.values_list("sku_id", "quantity"))
    audit_record(
        actor=actor,
        action="option_mapping.delete",
        obj=mapping,
        changes={
            "account": mapping.account.name,
            "channel_product_id": mapping.channel_product_id,
            "option": mapping.option_key,
            "items": [_label(items, codes), None],
        },
    )
    mapping.delete()


# --- SKU 코드로 자동 매칭 --------------------------------------------------------------------------------


@dataclass
class _Waiting:
    key: Key
    seller_codes: list[str]
    option_text: str
    channel_option_id: str
    product_name: str


def _candidate(line: _Waiting, by_code: dict[str, int], by_barcode: dict[str, int | None]) -> int | None:
    """The SKU a line names: a seller code equal to a SKU code, the option text equal to a SKU
    code, the option id or a seller code equal to a SKU barcode, or, for a product without
    options, the channel product id equal to a SKU barcode. A barcode two SKUs share names none."""
    for code in line.seller_codes:
        if code in by_code:
            return by_code[code]
    text = line.option_text.strip()
    if text in by_code:
        return by_code[text]
    _account_id, product_id, key = line.key
    barcodes = [line.channel_option_id, *line.seller_codes]
    if not key:
        # A product id names the whole product: only a product without options may use it.
        barcodes.append(product_id)
    for code in barcodes:
        found = by_barcode.get(code) if code else None
        if found:
            return found
    return None


def _waiting_groups(account: ChannelAccount | None) -> dict[Key, list[_Waiting]]:
    qs = OrderLine.objects.filter(unmapped=True).exclude(status=LineStatus.CANCELLED)
    if account is not None:
        qs = qs.filter(account=account)
    rows = qs.values_list(
        "account_id", "channel_product_id", "channel_option_id", "option_text", "seller_codes", "product_name"
    )
    groups: dict[Key, list[_Waiting]] = defaultdict(list)
    for account_id, product_id, option_id, option_text, seller_codes, product_name in rows.iterator(
        chunk_size=2000
    ):
        shim = ChannelOrderLine(
            external_line_id="",
            product_name=product_name,
            quantity=1,
            option_text=option_text,
            channel_product_id=product_id,
            channel_option_id=option_id,
        )
        key = (account_id, product_id, channel_option_key(shim))
        groups[key].append(
            _Waiting(
                key=key,
                seller_codes=[str(c).strip() for c in seller_codes or [] if str(c).strip()],
                option_text=option_text,
                channel_option_id=option_id.strip(),
                product_name=product_name,
            )
        )
    return groups


def _mappable(sku_ids: set[int]) -> set[int]:
    """The SKUs a mapping may point at: active singles, and active bundles with components."""
    bundles_ok = set(BundleItem.objects.filter(bundle_id__in=sku_ids).values_list("bundle_id", flat=True))
    return set(
        Sku.objects.filter(pk__in=sku_ids, is_active=True)
        .filter(Q(kind=Sku.Kind.SINGLE) | Q(pk__in=bundles_ok))
        .values_list("pk", flat=True)
    )


def unmapped_auto_match(*, actor: User | None, account: ChannelAccount | None = None) -> AutoMatchResult:
    """SKU 코드로 자동 매칭: for each group of waiting unmapped lines, find the SKU its lines
    name (see _candidate). A group whose lines all name one SKU gets a mapping (SKU x 1), and
    every waiting line of it is mapped and reserved, oldest first across all groups, in one
    transaction. A group that already has a saved mapping (saved while one of its orders was
    being collected) is mapped with that. Groups whose lines name different SKUs are left for
    a person and counted as conflicts. Safe to run twice: the second run finds nothing."""
    groups = _waiting_groups(account)
    result = AutoMatchResult()
    if not groups:
        return result

    existing = mappings_for_keys(set(groups))
    items_by_key: dict[Key, Items] = {}
    mapping_ids: dict[Key, int] = {}
    for key, mapping in existing.items():
        items = [(item.sku_id, item.quantity) for item in mapping.items.all()]
        if items:
            items_by_key[key], mapping_ids[key] = items, mapping.pk

    waiting = [line for key, lines in groups.items() if key not in items_by_key for line in lines]
    words = {c for ln in waiting for c in ln.seller_codes} | {ln.option_text.strip() for ln in waiting}
    words.discard("")
    by_code = dict(Sku.objects.filter(is_active=True, code__in=words).values_list("code", "pk"))
    barcodes = {c for ln in waiting for c in (ln.channel_option_id, *ln.seller_codes, ln.key[1]) if c}
    by_barcode: dict[str, int | None] = {}
    for barcode, pk in Sku.objects.filter(is_active=True, barcode__in=barcodes).values_list("barcode", "pk"):
        by_barcode[barcode] = None if barcode in by_barcode else pk  # shared by two SKUs: ambiguous
    mappable = _mappable(set(by_code.values()) | {pk for pk in by_barcode.values() if pk})

    new_keys: dict[Key, int] = {}
    for key, lines in groups.items():
        if key in items_by_key:
            continue
        found = {sku for line in lines if (sku := _candidate(line, by_code, by_barcode)) is not None}
        if len(found) > 1:
            result.conflicts += 1
        elif found and (sku_id := found.pop()) in mappable:
            new_keys[key] = sku_id
        else:
            result.unmatched += 1
    if not items_by_key and not new_keys:
        return result

    with transaction.atomic():
        accounts = ChannelAccount.objects.in_bulk({key[0] for key in new_keys})
        codes = dict(Sku.objects.filter(pk__in=set(new_keys.values())).values_list("pk", "code"))
        for key, sku_id in sorted(new_keys.items()):
            account_id, product_id, option = key
            sample = groups[key][-1]
            mapping, created = OptionMapping.objects.get_or_create(
                account_id=account_id,
                channel_product_id=product_id,
                option_key=option,
                defaults={
                    "product_name": sample.product_name[:300],
                    "option_text": sample.option_text[:300],
                    "created_by": actor if actor is not None and actor.is_authenticated else None,
                },
            )
            mapping_ids[key] = mapping.pk
            if not created:
                # Someone saved this option by hand a moment ago: theirs wins.
                items_by_key[key] = list(mapping.items.values_list("sku_id", "quantity"))
                continue
            OptionMappingItem.objects.create(mapping=mapping, sku_id=sku_id, quantity=1)
            items_by_key[key] = [(sku_id, 1)]
            result.mappings_created += 1
            audit_record(
                actor=actor,
                action="option_mapping.auto_create",
                obj=mapping,
                changes={
                    "account": accounts[account_id].name,
                    "channel_product_id": product_id,
                    "option": option,
                    "items": [None, _label([(sku_id, 1)], codes)],
                },
            )
        usable = {key: items for key, items in items_by_key.items() if items}
        locked = _lock_waiting(usable)
        counts = _map_lines(locked, usable, mapping_ids, actor=actor)
        result.groups_mapped = sum(1 for lines in locked.values() if lines)
        result.mapped, result.reserved, result.short = counts.mapped, counts.reserved, counts.short
        if counts.mapped or result.mappings_created:
            audit_record(
                actor=actor,
                action="orders.auto_match",
                obj=account,
                changes={
                    "mappings_created": result.mappings_created,
                    "lines_mapped": counts.mapped,
                    "reserved": counts.reserved,
                    "short": counts.short,
                    "conflicts": result.conflicts,
                },
            )
    return result


# --- 재할당 ------------------------------------------------------------------------------------------


def backorder_reassign(*, actor: User | None, account: ChannelAccount | None = None) -> ReassignResult:
    """재할당: reserve the lines flagged 재고 부족, oldest first, each all or nothing, now that
    stock may have arrived. Runs in transactions of REASSIGN_CHUNK lines (older chunks first) so
    a long backlog never holds the stock locks for long. Safe to run twice."""
    qs = OrderLine.objects.filter(backorder=True, unmapped=False, status__in=RESERVING_STATES)
    if account is not None:
        qs = qs.filter(account=account)
    ids = list(
        qs.annotate(sort_at=Coalesce("ordered_at", "created_at"))
        .order_by("sort_at", "pk")
        .values_list("pk", flat=True)
    )
    result = ReassignResult()
    for start in range(0, len(ids), REASSIGN_CHUNK):
        chunk = _reassign_chunk(ids[start : start + REASSIGN_CHUNK], actor=actor, account=account)
        result.reserved += chunk.reserved
        result.short += chunk.short
    return result


@transaction.atomic
def _reassign_chunk(
    line_ids: list[int], *, actor: User | None, account: ChannelAccount | None
) -> ReassignResult:
    # Re-read under the lock: a line cancelled or reserved since the list was read drops out.
    lines = list(
        OrderLine.objects.filter(pk__in=line_ids, backorder=True, unmapped=False, status__in=RESERVING_STATES)
        .order_by("pk")
        .select_for_update()
    )
    reserved, short = reserve_lines(lines, actor=actor)
    if reserved:
        audit_record(
            actor=actor,
            action="orders.backorder_reassign",
            obj=account,
            changes={"reserved": len(reserved), "short": len(short)},
        )
    return ReassignResult(reserved=len(reserved), short=len(short))
