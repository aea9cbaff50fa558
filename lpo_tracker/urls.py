"""URL routes. There is deliberately no route for uploaded files: work product and evidence
are served only by permission-checked views."""

from allauth.account import views as account_views
from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "LPO Tracker administration"
admin.site.site_title = "LPO Tracker"
admin.site.index_title = "Matters, vendors and supervision"
# The admin signs in through the app's sign-in (lockout, second factor), not its own form.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("admin/", admin.site.urls),
    # allauth signs in (password, then the second factor); Django's views keep sign-out,
    # password change and reset. Earlier routes win where the two define the same path.
    path("accounts/login/", account_views.login, name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/2fa/", include("allauth.mfa.urls")),
    path("accounts/", include("allauth.account.urls")),
    # The header's search over matters, clients, parties, tasks and vendors (matters/search.py).
    path("search/", include("matters.search_urls")),
    path("matters/", include("matters.urls")),
    path("clients/", include("matters.client_urls")),
    path("vendors/", include("vendors.urls")),
    path("engagements/", include("matters.engagement_urls")),
    path("portal/", include("supervision.portal.urls")),
    path("reports/", include("supervision.reports.urls")),
    path("calendar/", include("supervision.calendar.urls")),
    # Before supervision's "tasks/<id>/…" pages: only the list itself is matched here.
    path("tasks/", include("matters.task_list_urls")),
    path("", include("supervision.urls")),
]

# With DEBUG off: pages in the site's layout that say what happened and where to go
# (supervision.error_pages; the 500 page reads nothing from the database).
handler403 = "supervision.error_pages.forbidden"
handler404 = "supervision.error_pages.not_found"
handler500 = "supervision.error_pages.server_error"
