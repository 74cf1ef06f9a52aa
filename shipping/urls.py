"""The shipping desk's URLs, one module per workflow (namespace "shipping")."""

from shipping import urls_couriers, urls_desk, urls_dispatch, urls_pack, urls_tracking

app_name = "shipping"

urlpatterns = [
    *urls_desk.urlpatterns,
    *urls_couriers.urlpatterns,
    *urls_tracking.urlpatterns,
    *urls_pack.urlpatterns,
    *urls_dispatch.urlpatterns,
]
