from django.urls import path

from shipping import views_tracking as v

urlpatterns = [
    path("<int:pk>/tracking/", v.shipment_tracking_view, name="shipment_tracking"),
    path("tracking/", v.tracking_import_view, name="tracking_import"),
    path("tracking/template/", v.tracking_import_template_view, name="tracking_import_template"),
    path("tracking/open-boxes/", v.tracking_import_export_view, name="tracking_import_export"),
    path("tracking/<int:pk>/", v.tracking_import_detail_view, name="tracking_import_detail"),
    path("tracking/<int:pk>/apply/", v.tracking_import_commit_view, name="tracking_import_commit"),
    path("tracking/<int:pk>/cancel/", v.tracking_import_cancel_view, name="tracking_import_cancel"),
    path("tracking/<int:pk>/errors/", v.tracking_import_errors_view, name="tracking_import_errors"),
]
