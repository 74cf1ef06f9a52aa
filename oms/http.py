from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from oms.models import User


class AuthedHttpRequest(HttpRequest):
    """A request past LoginRequiredMiddleware: the user is a real User; htmx details attached."""

    user: User
    htmx: HtmxDetails
