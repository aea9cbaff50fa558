"""The demo firm behind `manage.py seed_demo`: Hale & Whitmore LLP and three LPO providers.

Everything that carries a rule is made through the services, exactly as a user would make it:
matters and their teams, the ethical wall, engagements with their conflict checks and client
consents, and every task move from draft to delivery or cancellation. Reference data that no
service owns yet (users, clients, vendors' due diligence, rate cards, attorney profiles, SLA
policies) is written directly and recorded in the audit trail as `demo.created`.

`data` says what the firm is made of, `files` makes the work-product files in memory and
`builder` turns both into rows. The package sits in `matters` because the command does, but
it drives `supervision` too (submissions, reviews, sign-offs): like the tests, it is a client
of every app.
"""

from supervision.demo.builder import DemoBuilder, DemoConflict, DemoSummary, demo_present, seed_demo
from supervision.demo.data import (
    ADMIN,
    DEMO_PASSWORD,
    LAPSED_ATTORNEY,
    MARKER_CLIENT_CODE,
    RISK_ADMIN,
    SCREENED_USER,
    demo_logins,
    demo_second_factor,
)

__all__ = [
    "ADMIN",
    "DEMO_PASSWORD",
    "LAPSED_ATTORNEY",
    "MARKER_CLIENT_CODE",
    "RISK_ADMIN",
    "SCREENED_USER",
    "DemoBuilder",
    "DemoConflict",
    "DemoSummary",
    "demo_logins",
    "demo_present",
    "demo_second_factor",
    "seed_demo",
]
