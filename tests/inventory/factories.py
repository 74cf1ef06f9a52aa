from __future__ import annotations

import factory

from inventory.models import Location


class LocationFactory(factory.django.DjangoModelFactory[Location]):
    class Meta:
        model = Location

    code = factory.Sequence(lambda n: f"WH{n:02d}")
    name = factory.Sequence(lambda n: f"창고 {n}")
    sells = True
    priority = factory.Sequence(lambda n: 10 + n)
