from __future__ import annotations

import factory

from channels.models import ChannelAccount, Marketplace


class ChannelAccountFactory(factory.django.DjangoModelFactory[ChannelAccount]):
    class Meta:
        model = ChannelAccount

    marketplace = Marketplace.SMARTSTORE
    name = factory.Sequence(lambda n: f"스마트스토어 {n}")
