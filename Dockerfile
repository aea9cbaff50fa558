# The one image behind docker-compose.yml's migrate, web, worker and beat services.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=lpo_tracker.settings

WORKDIR /app
RUN useradd --create-home --uid 10001 lpo

# Dependencies first, so a code change does not reinstall them. Exactly the lock file's pins.
COPY requirements.lock ./
RUN pip install --no-cache-dir uv==0.13.8 \
    && uv pip install --system --no-cache -r requirements.lock

# Only the project's own code (the layout in docs/architecture.md): no .venv, var/ or tests.
COPY manage.py pyproject.toml ./
COPY lpo_tracker/ lpo_tracker/
COPY vendors/ vendors/
COPY matters/ matters/
COPY supervision/ supervision/

# Hashed, compressed static files for WhiteNoise. The keys exist only for this build step.
RUN LPO_ENV=production LPO_VAR_DIR=/tmp/build-var ALLOWED_HOSTS=build.invalid \
    SECRET_KEY=collectstatic-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz \
    AUDIT_HMAC_KEY=collectstatic-only-not-an-audit-key-0123456789 \
    python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-var \
    && mkdir -p /data/private /data/var \
    && chown -R lpo:lpo /data

USER lpo
EXPOSE 8000
CMD ["gunicorn", "lpo_tracker.wsgi:application", "-b", "0.0.0.0:8000", "--workers", "3"]
