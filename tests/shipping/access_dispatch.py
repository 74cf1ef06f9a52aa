"""Who may use the dispatch desk: every role holds the shipping permissions (staff included:
they close the day's shipping), so everyone sees the ready list and results, dispatches, retries,
downloads the Excel-only channels' sheets and corrects tracking numbers."""

from __future__ import annotations

from typing import Any

from oms.models import User
from oms.services import job_create
from shipping.services_dispatch import JOB_KIND
from tests.access import ALL, NO_METHOD, Rule
from tests.channels.factories import ChannelAccountFactory
from tests.shipping.factories import ShipmentFactory


def _job(user: User, other: User) -> list[Any]:
    job = job_create(kind=JOB_KIND, title="발송처리", actor=other)
    job.result = {"shipments": []}
    job.save(update_fields=["result"])
    return [job.pk]


def _sheet(user: User, other: User) -> list[Any]:
    return [*_job(user, other), ChannelAccountFactory.create().pk]


def _shipment(user: User, other: User) -> list[Any]:
    return [ShipmentFactory.create().pk]


RULES = {
    "shipping:dispatch": Rule(get=ALL, post=NO_METHOD),
    "shipping:dispatch_start": Rule(get=NO_METHOD, post=ALL),
    "shipping:dispatch_result": Rule(get=ALL, post=NO_METHOD, args=_job),
    "shipping:dispatch_retry": Rule(get=NO_METHOD, post=ALL, args=_job),
    "shipping:dispatch_sheet": Rule(get=ALL, post=ALL, args=_sheet),
    "shipping:dispatch_correct": Rule(get=ALL, post=ALL, args=_shipment),
}
