from django.urls import path

from channels import views

app_name = "channels"

urlpatterns = [
    path("", views.account_list_view, name="account_list"),
    path("new/", views.account_create_view, name="account_create"),
    path("<int:pk>/", views.account_detail_view, name="account_detail"),
    path("<int:pk>/edit/", views.account_edit_view, name="account_edit"),
    path("<int:pk>/pause/", views.account_pause_view, name="account_pause"),
    path("<int:pk>/resume/", views.account_resume_view, name="account_resume"),
    path("<int:pk>/test/", views.account_test_view, name="account_test"),
    path("<int:pk>/listings/", views.listing_list_view, name="listing_list"),
    path("<int:pk>/listings/bulk/", views.listing_bulk_view, name="listing_bulk"),
    path("<int:pk>/listings/autolink/", views.listing_autolink_view, name="listing_autolink"),
    path("<int:pk>/listings/<int:listing_pk>/link/", views.listing_link_view, name="listing_link"),
    path(
        "<int:pk>/listings/<int:listing_pk>/stock-sync/",
        views.listing_stock_sync_view,
        name="listing_stock_sync",
    ),
    path("skus/", views.sku_search_view, name="sku_search"),
    path("jobs/", views.job_list_view, name="job_list"),
    path("jobs/<int:pk>/", views.job_detail_view, name="job_detail"),
    path("jobs/<int:pk>/retry/", views.job_retry_view, name="job_retry"),
]
