"""Who may use the order-sheet upload: staff, managers and administrators upload sheets, see the
previews and register them (orders.*_importbatch); the sellers' own sheet profiles are read by
everyone (orders.view_excelprofile) and created, changed and deleted by managers and
administrators."""

from __future__ import annotations

from typing import Any

from channels.models import Marketplace
from oms.models import User
from orders.models import ExcelProfile, ImportBatch
from tests.access import ALL, MANAGER_UP, NO_METHOD, Rule
from tests.channels.factories import ChannelAccountFactory


def _batch(user: User, other: User) -> list[Any]:
    account = ChannelAccountFactory.create()
    batch = ImportBatch.objects.create(
        account=account,
        profile_name="smartstore",
        filename="orders.xlsx",
        counts={"rows": 1, "orders": 0, "lines": 0, "error_rows": 1},
        errors=[[3, "수량", "숫자가 아닙니다", "두개"]],
        uploaded_by=other,
    )
    return [batch.pk]


def _profile(user: User, other: User) -> list[Any]:
    account = ChannelAccountFactory.create(marketplace=Marketplace.GMARKET)
    profile = ExcelProfile.objects.create(account=account, name=f"지마켓 {account.pk}", mapping={})
    return [profile.pk]


RULES = {
    "orders:import": Rule(get=ALL, post=ALL),
    "orders:import_list": Rule(get=ALL, post=NO_METHOD),
    "orders:import_detail": Rule(get=ALL, post=NO_METHOD, args=_batch),
    "orders:import_commit": Rule(get=NO_METHOD, post=ALL, args=_batch),
    "orders:import_cancel": Rule(get=NO_METHOD, post=ALL, args=_batch),
    "orders:import_errors": Rule(get=ALL, post=NO_METHOD, args=_batch),
    "orders:import_profiles": Rule(get=ALL, post=NO_METHOD),
    "orders:import_profile_create": Rule(get=MANAGER_UP, post=MANAGER_UP),
    "orders:import_profile_edit": Rule(get=MANAGER_UP, post=MANAGER_UP, args=_profile),
    "orders:import_profile_delete": Rule(get=NO_METHOD, post=MANAGER_UP, args=_profile),
}
