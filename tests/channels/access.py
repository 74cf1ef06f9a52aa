"""Who may use the channel pages. Account pages and credentials: administrators only
(role_grants keeps channelaccount admin-only). The account list (sync state, no credentials),
listings and the sync monitor are read by managers too, who run the order queue; linking
listings, the 재고 연동 제외 switch and retries change what is sent to the marketplaces, so
they stay with administrators."""

from channels.models import Marketplace
from tests.access import ADMIN, MANAGER_UP, NO_METHOD, Rule
from tests.channels.factories import ChannelAccountFactory, ListingFactory, SyncJobFactory


def _account(user, other):
    # An Excel-only account: the connection test answers without calling any marketplace.
    return [ChannelAccountFactory.create(marketplace=Marketplace.OTHER).pk]


def _listing(user, other):
    listing = ListingFactory.create(account=ChannelAccountFactory.create(marketplace=Marketplace.OTHER))
    return [listing.account_id, listing.pk]


def _job(user, other):
    account = ChannelAccountFactory.create(marketplace=Marketplace.OTHER)
    return [SyncJobFactory.create(account=account, kind="auth_check", status="failed").pk]


RULES = {
    "channels:account_list": Rule(get=MANAGER_UP, post=NO_METHOD),
    "channels:account_create": Rule(get=ADMIN, post=ADMIN),
    "channels:account_detail": Rule(get=ADMIN, post=NO_METHOD, args=_account),
    "channels:account_edit": Rule(get=ADMIN, post=ADMIN, args=_account),
    "channels:account_pause": Rule(get=NO_METHOD, post=ADMIN, args=_account),
    "channels:account_resume": Rule(get=NO_METHOD, post=ADMIN, args=_account),
    "channels:account_test": Rule(get=NO_METHOD, post=ADMIN, args=_account),
    "channels:listing_list": Rule(get=MANAGER_UP, post=NO_METHOD, args=_account),
    "channels:listing_bulk": Rule(get=NO_METHOD, post=ADMIN, args=_account),
    "channels:listing_autolink": Rule(get=NO_METHOD, post=ADMIN, args=_account),
    "channels:listing_link": Rule(get=NO_METHOD, post=ADMIN, args=_listing),
    "channels:listing_stock_sync": Rule(get=NO_METHOD, post=ADMIN, args=_listing),
    "channels:sku_search": Rule(get=ADMIN, post=NO_METHOD),
    "channels:job_list": Rule(get=MANAGER_UP, post=NO_METHOD),
    "channels:job_detail": Rule(get=MANAGER_UP, post=NO_METHOD, args=_job),
    "channels:job_retry": Rule(get=NO_METHOD, post=ADMIN, args=_job),
}
