from django.urls import URLPattern, path

from shipping import views_dispatch

urlpatterns: list[URLPattern] = [
    path("dispatch/", views_dispatch.dispatch_view, name="dispatch"),
    path("dispatch/start/", views_dispatch.dispatch_start_view, name="dispatch_start"),
    path("dispatch/runs/<int:pk>/", views_dispatch.dispatch_result_view, name="dispatch_result"),
    path("dispatch/runs/<int:pk>/retry/", views_dispatch.dispatch_retry_view, name="dispatch_retry"),
    path(
        "dispatch/runs/<int:pk>/sheet/<int:account_pk>/",
        views_dispatch.dispatch_sheet_view,
        name="dispatch_sheet",
    ),
    path(
        "dispatch/shipments/<int:pk>/tracking/", views_dispatch.dispatch_correct_view, name="dispatch_correct"
    ),
]
