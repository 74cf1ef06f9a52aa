"""The shipment list (출고 관리), 출고 생성 and a box's detail."""

from django.urls import URLPattern, path

from shipping import views_desk

urlpatterns: list[URLPattern] = [
    path("", views_desk.desk_view, name="desk"),
    path("bulk/", views_desk.desk_bulk_view, name="desk_bulk"),
    path("export/", views_desk.desk_export_view, name="desk_export"),
    path("build/", views_desk.desk_build_view, name="desk_build"),
    path("shipments/<int:pk>/", views_desk.shipment_detail_view, name="shipment_detail"),
    path("shipments/<int:pk>/split/", views_desk.shipment_split_view, name="shipment_split"),
    path("shipments/<int:pk>/cancel/", views_desk.shipment_cancel_view, name="shipment_cancel"),
    path("shipments/<int:pk>/prune/", views_desk.shipment_prune_view, name="shipment_prune"),
]
