from django.urls import URLPattern, path

from shipping import views_couriers

urlpatterns: list[URLPattern] = [
    path("couriers/", views_couriers.courier_list_view, name="courier_list"),
    path("couriers/new/", views_couriers.courier_create_view, name="courier_create"),
    path("couriers/<int:pk>/", views_couriers.courier_edit_view, name="courier_edit"),
    path("couriers/<int:pk>/default/", views_couriers.courier_default_view, name="courier_default"),
    path("courier-sheet/", views_couriers.courier_sheet_view, name="courier_sheet"),
]
