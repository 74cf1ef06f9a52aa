"""Who may use the 매칭 and 재고 부족 pages: everyone with orders.view_orderline reads them
(staff too, read-only); saving, auto-matching, deleting and 재할당 need orders.change_orderline
(managers and administrators)."""

from channels.models import OptionMapping
from tests.access import ALL, MANAGER_UP, NO_METHOD, Rule
from tests.channels.factories import ChannelAccountFactory


def _mapping(user, other):
    account = ChannelAccountFactory.create()
    return [OptionMapping.objects.create(account=account, channel_product_id="P1", option_key="블랙").pk]


RULES = {
    "orders:matching": Rule(get=ALL, post=NO_METHOD),
    "orders:matching_edit": Rule(get=ALL, post=NO_METHOD),
    "orders:matching_sku_search": Rule(get=ALL, post=NO_METHOD),
    "orders:matching_save": Rule(get=NO_METHOD, post=MANAGER_UP),
    "orders:matching_auto": Rule(get=NO_METHOD, post=MANAGER_UP),
    "orders:matching_mappings": Rule(get=ALL, post=NO_METHOD),
    "orders:matching_mapping_delete": Rule(get=NO_METHOD, post=MANAGER_UP, args=_mapping),
    "orders:backorders": Rule(get=ALL, post=NO_METHOD),
    "orders:backorders_reassign": Rule(get=NO_METHOD, post=MANAGER_UP),
}
