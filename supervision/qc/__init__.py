"""Quality control of bulk work (issue 16).

- `z14.py`: the ANSI/ASQ Z1.4 tables as data (code letters, sample sizes, master tables).
- `redraw.py`: the stdlib-only rules for manifests and the seeded draw, and the script that
  redraws a sample from a manifest and a seed (the application imports it: one definition).
- `models.py`: task type settings, QC plans, lots, samples, checks, results, the inspection
  state and its switches.
- `rules.py`: which tasks are sampled (bulk work without legal judgment), the plan in force,
  and the switching rules as a pure function.
- `services.py`: every QC write (lot, draw, checks, disposition, full re-review), audited.
- `selectors.py`, `views.py`, `urls.py`, `forms.py`, `admin.py`: the reviewer's QC page,
  the vendor's defect list, the admin.

Modules of this package import `supervision.models`; `supervision.models` imports only
`supervision.qc.models` (so the app registers them).
"""
