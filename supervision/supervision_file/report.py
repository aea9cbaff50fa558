"""The supervision file's PDF report: Django templates rendered to HTML, WeasyPrint to PDF.

WeasyPrint never reaches the network: `local_url_fetcher` refuses every URL but files under
the configured font folder (Debian's `fonts-dejavu-core` by default,
`SUPERVISION_FILE_FONT_DIR`), so a URL in a title or a note cannot make the worker fetch
anything. A large matter is printed in volumes of `TASKS_PER_VOLUME` tasks, each rendered on
its own, so memory follows one volume, not the matter.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.template.loader import render_to_string

# WeasyPrint lays out a whole document in memory, so a volume's size, not the matter's, sets
# the worker's peak memory (docs/performance.md, "The supervision file"). Tasks are read in
# batches that fill a volume exactly, so the cover's count of volumes is the number written.
TASKS_PER_VOLUME = 250
BATCHES_PER_VOLUME = 2
STYLESHEET = Path(__file__).with_name("report.css")


# What the report says of each task, in order: one template per part, each given the
# task's `section` (collect.TaskSection). Quality control (issue 16) adds its part here,
# after the versions and their reviews: "supervision/file/task/_qc.html".
TASK_PARTS = [
    "supervision/file/task/_versions.html",
    "supervision/file/task/_signoff.html",
    "supervision/file/task/_delivery.html",
    "supervision/file/task/_due_dates.html",
    "supervision/file/task/_reminders.html",
]


class RemoteFetchRefused(ValueError):
    """WeasyPrint asked for a resource the report may not load."""


def font_dir() -> Path:
    return Path(settings.SUPERVISION_FILE_FONT_DIR).resolve()


def check_local(url: str) -> Path:
    """The font file a URL names, if it is a `file:` URL inside the font folder; anything
    else (http, https, data, ftp, a file elsewhere) is refused."""
    parsed = urlparse(url)
    if parsed.scheme != "file":
        raise RemoteFetchRefused(f"The supervision file loads nothing from {parsed.scheme}: URLs")
    path = Path(unquote(parsed.path)).resolve()
    if not path.is_relative_to(font_dir()) or not path.is_file():
        raise RemoteFetchRefused(f"The supervision file loads no file outside {font_dir()}")
    return path


@functools.cache
def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]
        """WeasyPrint's fetcher with every network handler out of reach: `fetch` serves
        the font folder and refuses the rest (WeasyPrint then skips the resource)."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            path = check_local(url)
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": "font/ttf"})

    return LocalOnlyFetcher


def local_url_fetcher() -> Any:
    return _fetcher_class()(allowed_protocols=("file",), allow_redirects=False)


def volume_html(context: dict[str, Any]) -> str:
    """One volume as HTML: the cover and engagements in volume 1, then its tasks."""
    return render_to_string("supervision/file/report.html", context)


def tasks_html(sections: list[Any], context: dict[str, Any]) -> str:
    """A batch of tasks' pages, appended to the volume being built."""
    return render_to_string(
        "supervision/file/_tasks.html",
        {**context, "sections": sections, "task_parts": TASK_PARTS},
    )


def write_pdf(html: str, target: IO[bytes], *, footer: str) -> None:
    """Render `html` as PDF into `target` (a ZIP member opened for writing), with the
    stylesheet beside this module and `footer` at the foot of every page but the cover."""
    from weasyprint import CSS, HTML  # imported here: loading Pango costs ~0.3 s
    from weasyprint.text.fonts import FontConfiguration

    # WeasyPrint logs a line per page at INFO: thousands for a large matter.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    fetcher = local_url_fetcher()
    # The @font-face rules of a separate stylesheet load only through a font configuration
    # shared by the stylesheet and the rendering.
    font_config = FontConfiguration()
    fonts = font_dir().as_uri() + "/"
    footer_text = json.dumps(footer, ensure_ascii=False)  # a quoted CSS string
    stylesheets = [
        CSS(filename=str(STYLESHEET), base_url=fonts, url_fetcher=fetcher, font_config=font_config),
        CSS(
            string=f"@page {{ @bottom-left {{ content: {footer_text} }} }}",
            url_fetcher=fetcher,
        ),
    ]
    HTML(string=html, url_fetcher=fetcher, base_url=fonts).write_pdf(
        target, stylesheets=stylesheets, font_config=font_config
    )
