"""Sign-in, second factor, step-up and session limits (docs/security.md).

django-axes locks out repeated failures, django-allauth signs in with a second factor; this
package holds only the glue: who must use MFA (`policy`), the lockout page (`lockout`), the
session limits and enrolment redirect (`middleware`), `Cache-Control: no-store`
(`no_store`), and the fresh confirmation a sign-off needs (`stepup`).
"""
