"""Pick list, packing slips and the packing table (검수)."""

from django.urls import URLPattern, path

from shipping import views_pack

urlpatterns: list[URLPattern] = [
    path("picking/", views_pack.picking_view, name="picking"),
    path("picking/print/", views_pack.picking_print_view, name="picking_print"),
    path("slips/", views_pack.slips_view, name="slips"),
    path("pack/", views_pack.pack_view, name="pack"),
    path("pack/scan/", views_pack.pack_scan_view, name="pack_scan"),
    path("pack/<int:pk>/", views_pack.pack_box_view, name="pack_box"),
    path("pack/<int:pk>/reset/", views_pack.pack_reset_view, name="pack_reset"),
]
