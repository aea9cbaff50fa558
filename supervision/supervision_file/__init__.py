"""The supervision file of a matter: one ZIP that shows the matter's outsourced work was
supervised (docs/rules.md, "The supervision file").

- `models.py`: the generation job (`SupervisionFile`), its progress and its ZIP;
- `collect.py`: what the file states, read from the evidence tables in bounded batches;
- `report.py`: the PDF report (WeasyPrint, local fonts, no network);
- `archive.py`: the ZIP: evidence under its hashes, the audit events, the manifest and the
  offline verifier (`verify_script.py` beside `lpo_tracker/audit/chain.py`);
- `services.py`: request, generate, fail, download (each audited); `tasks.py`: the Celery
  task; `views.py` / `urls.py`: the page and the htmx panel on the matter page.

This `__init__` imports nothing: `supervision.models` loads the job model from here.
"""
