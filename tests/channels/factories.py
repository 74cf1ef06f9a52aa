from __future__ import annotations

import factory

from channels.models import ChannelAccount, Listing, Marketplace, SyncJob


class ChannelAccountFactory(factory.django.DjangoModelFactory[ChannelAccount]):
    class Meta:
        model = ChannelAccount

    marketplace = Marketplace.SMARTSTORE
    name = factory.Sequence(lambda n: f"스마트스토어 {n}")


class ListingFactory(factory.django.DjangoModelFactory[Listing]):
    class Meta:
        model = Listing

    account = factory.SubFactory(ChannelAccountFactory)
    external_product_id = factory.Sequence(lambda n: f"{5000000 + n}")
    external_option_id = factory.Sequence(lambda n: f"{90000 + n}")
    product_name = factory.Sequence(lambda n: f"울 라운드 니트 {n}")
    option_text = "블랙 / S"


class SyncJobFactory(factory.django.DjangoModelFactory[SyncJob]):
    class Meta:
        model = SyncJob

    account = factory.SubFactory(ChannelAccountFactory)
    kind = SyncJob.Kind.COLLECT
    status = SyncJob.Status.FAILED
