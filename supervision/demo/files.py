"""Small but real work-product files (PDF, Word, Excel, CSV, text), made in memory, so the
demo's submissions go through the same upload checks as a user's."""

from __future__ import annotations

import csv
import datetime as dt
import io
import textwrap
import zipfile
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.text import slugify

from matters.models import Matter
from supervision.demo.data import T, TaskSpec
from vendors.models import Vendor

_BODY: dict[str, tuple[str, ...]] = {
    T.DOCUMENT_REVIEW: (
        "Scope: documents in the batch, reviewed against the protocol and coding panel.",
        "Responsive: 38%. Privileged (withheld): 6%. Hot: 1.9%. Needs second level: 3%.",
        "Issues: recurring attachment families split across Bates ranges (see annex).",
    ),
    T.LEGAL_CODING: (),
    T.CONTRACT_ABSTRACTION: (),
    T.LEGAL_RESEARCH: (
        "Question presented and short answer.",
        "Authorities reviewed: appellate decisions and leading first-instance rulings.",
        "Analysis by issue, with the open questions the supervising attorney should decide.",
    ),
    T.DUE_DILIGENCE: (
        "Executive summary of red flags, ranked by deal impact.",
        "Consent-required items; notice-only items; items needing seller confirmation.",
        "Annex: document-by-document findings with data-room references.",
    ),
    T.DEPOSITION_SUMMARY: (
        "Witness background and role.",
        "Page-line summary by topic, with exhibits referenced.",
        "Admissions and inconsistencies flagged for the trial team.",
    ),
    T.PATENT_SUPPORT: (
        "Search strategy: classifications, keywords and citation chasing.",
        "Ranked references with relevance notes and the claims they bear on.",
        "Charts: element-by-element mapping with pinpoint citations.",
    ),
    T.COMPLIANCE_REVIEW: (
        "Standard applied and materials reviewed.",
        "Findings by item: compliant, needs change, needs substantiation.",
        "Suggested wording for every item that needs change.",
    ),
    T.LEGAL_TRANSCRIPTION: (),
    T.CONTRACT_DRAFTING: (
        "Draft prepared from the firm's precedent, tailored as instructed.",
        "Drafting notes: points for the supervising attorney's judgment are bracketed.",
        "Schedule of changes from the precedent.",
    ),
}
_EXTENSION: dict[str, str] = {
    T.DOCUMENT_REVIEW: "pdf", T.LEGAL_RESEARCH: "pdf", T.PATENT_SUPPORT: "pdf",
    T.LEGAL_CODING: "csv", T.CONTRACT_ABSTRACTION: "xlsx", T.LEGAL_TRANSCRIPTION: "txt",
    T.DEPOSITION_SUMMARY: "docx", T.DUE_DILIGENCE: "docx", T.COMPLIANCE_REVIEW: "docx",
    T.CONTRACT_DRAFTING: "docx",
}
_CONTENT_TYPES = {
    "pdf": "application/pdf",
    "csv": "text/csv",
    "txt": "text/plain",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def pdf_bytes(lines: Iterable[str]) -> bytes:
    """A one-page PDF that any viewer opens, with `lines` set in Helvetica."""
    wrapped = [part for line in lines for part in (textwrap.wrap(line, 88) or [""])]
    text = "".join(
        "(" + line.encode("latin-1", "replace").decode("latin-1")
        .replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj T*\n"
        for line in wrapped[:48]
    )
    stream = f"BT /F1 10 Tf 14 TL 56 760 Td\n{text}ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def docx_bytes(lines: Iterable[str]) -> bytes:
    """A minimal Word document (the three parts Word needs), one paragraph per line."""
    paragraphs = "".join(
        f'<w:p><w:r><w:t xml:space="preserve">{escape(line)}</w:t></w:r></w:p>' for line in lines
    )
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/word/document.xml" ContentType="{main}"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
        ),
        "word/document.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body>{paragraphs}</w:body></w:document>"
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def xlsx_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook  # imported here: only abstraction work product needs it

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Abstract"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def work_product(spec: TaskSpec, matter: Matter, vendor: Vendor, version: int,
                 day: dt.date) -> SimpleUploadedFile:
    """A small but real file of the kind the task type produces, made in memory."""
    extension = _EXTENSION[spec.task_type]
    heading = [
        "PRIVILEGED & CONFIDENTIAL - ATTORNEY WORK PRODUCT",
        f"Prepared by {vendor.name} for Hale & Whitmore LLP",
        f"Matter {matter.number}: {matter.title}",
        f"Task: {spec.title}",
        f"Version {version}, {day:%d %B %Y}",
        "",
    ]
    if version > 1:
        heading.append(f"Revised to address the reviewer's comments: {spec.feedback}")
    number = matter.number
    if extension == "csv":
        data = csv_bytes(
            ["DocID", "Date", "Author", "Recipients", "DocType", "Privilege", "Issue"],
            [[f"{number}-{n:06d}", f"2023-{(n % 12) + 1:02d}-{(n % 27) + 1:02d}",
              ("J. Park", "L. Moreno", "A. Shah")[n % 3], "Distribution list",
              ("Email", "Memo", "Spreadsheet", "Lab notebook")[n % 4],
              "Attorney-client" if n % 7 == 0 else "None", f"Issue {n % 5 + 1}"]
             for n in range(1, 26)],
        )
    elif extension == "xlsx":
        data = xlsx_bytes(
            ["Document", "Counterparty", "Effective date", "Term (years)", "Break / renewal",
             "Change of control", "Assignment", "Notes"],
            [[f"Doc {n:03d}", f"Counterparty {n}", f"20{15 + n % 9}-0{n % 9 + 1}-01", 5 + n % 10,
              "Tenant break yr 5" if n % 2 else "Auto-renews 1 yr",
              "Consent required" if n % 3 == 0 else "None", "With consent", ""]
             for n in range(1, 21)],
        )
    elif extension == "txt":
        data = "\n".join([*heading, "JUDGE: Please be seated. We are on the record.",
                          "COUNSEL FOR THE CLAIMANT: Thank you. If I may begin with the "
                          "construction of the first disputed term...",
                          "[transcript continues; 1 h 52 min of audio]", ""]).encode()
    elif extension == "docx":
        data = docx_bytes([*heading, *_BODY[spec.task_type]])
    else:
        data = pdf_bytes([*heading, *_BODY[spec.task_type]])
    name = f"{slugify(spec.title)[:80]}-v{version}.{extension}"
    return SimpleUploadedFile(name, data, content_type=_CONTENT_TYPES[extension])


