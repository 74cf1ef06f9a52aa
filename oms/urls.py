from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from oms import views

urlpatterns = [
    path("login/", views.OmsLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("healthz", views.healthz_view, name="healthz"),
    path("", views.dashboard_view, name="dashboard"),
    path("search/", views.search_view, name="search"),
    path("jobs/", views.job_list_view, name="job_list"),
    path("jobs/<int:pk>/", views.job_detail_view, name="job_detail"),
    path("settings/", views.settings_home_view, name="settings_home"),
    path("settings/company/", views.company_view, name="company"),
    path("settings/password/", views.password_change_view, name="password_change"),
    path("settings/users/", views.user_list_view, name="user_list"),
    path("settings/users/bulk/", views.user_bulk_view, name="user_bulk"),
    path("settings/users/new/", views.user_create_view, name="user_create"),
    path("settings/users/<int:pk>/", views.user_edit_view, name="user_edit"),
    path("settings/users/<int:pk>/active/", views.user_set_active_view, name="user_set_active"),
    path("settings/users/<int:pk>/password/", views.user_reset_password_view, name="user_reset_password"),
    path("settings/audit/", views.audit_list_view, name="audit_list"),
    path("products/", include("catalog.urls")),
    path("stock/", include("inventory.urls")),
    path("orders/", include("orders.urls")),
    path("shipping/", include("shipping.urls")),
    path("channels/", include("channels.urls")),
    path("sandbox/", include("channels.sandbox.urls")),
]

handler403 = "oms.errors.permission_denied"
handler404 = "oms.errors.page_not_found"
