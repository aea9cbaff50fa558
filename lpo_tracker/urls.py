"""URL routes. There is deliberately no route for uploaded files: work product and evidence
are served only by permission-checked views."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "LPO Tracker administration"
admin.site.site_title = "LPO Tracker"
admin.site.index_title = "Matters, vendors and supervision"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("matters/", include("matters.urls")),
    path("clients/", include("matters.client_urls")),
    path("vendors/", include("vendors.urls")),
    path("engagements/", include("matters.engagement_urls")),
    path("portal/", include("supervision.portal.urls")),
    path("reports/", include("supervision.reports.urls")),
    path("", include("supervision.urls")),
]
