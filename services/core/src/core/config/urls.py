"""The monolith's URL table: admin, the legacy public API, the legacy webhook view, health,
the internal session check the gateway makes and the fault flags the rollout's drills set."""

from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import URLPattern, URLResolver, include, path

from core.billing.views import stripe_webhook
from core.config import views
from core.config.api import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("webhooks/stripe", stripe_webhook, name="stripe-webhook"),
    path("internal/", include("core.accounts.urls")),
    path("internal/", include("core.faults.urls")),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error

if settings.DEBUG:
    urlpatterns += staticfiles_urlpatterns()
