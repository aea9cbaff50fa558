# syntax=docker/dockerfile:1
# Four stages, all on Debian bookworm:
#   build   the production lock (no dev tools, every hash checked) into /opt/venv;
#   proxy   nginx, docker-compose.yml's TLS-terminating reverse proxy (deploy/nginx.conf);
#   clamav  clamd + freshclam, docker-compose.yml's malware scanner (deploy/clamd.conf);
#   app     (the default, last) the image behind migrate, web, worker and beat: the virtualenv
#           from `build` and the project's code, non-root, no compiler, pip cache or uv.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN pip install --no-cache-dir uv==0.13.8 && python -m venv /opt/venv
COPY requirements.lock /tmp/requirements.lock
# Exactly the lock's pins, each archive checked against its hash.
RUN uv pip install --python /opt/venv/bin/python --no-cache --require-hashes \
    -r /tmp/requirements.lock

FROM debian:bookworm-slim AS proxy
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/*
COPY deploy/nginx.conf /etc/nginx/nginx.conf
EXPOSE 80 443
CMD ["nginx", "-g", "daemon off;"]

FROM debian:bookworm-slim AS clamav
RUN apt-get update \
    && apt-get install -y --no-install-recommends clamav-daemon clamav-freshclam clamdscan \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /run/clamav && chown clamav:clamav /run/clamav /var/lib/clamav
COPY deploy/clamd.conf /etc/clamav/clamd.conf
EXPOSE 3310
HEALTHCHECK --interval=30s --timeout=10s --start-period=10m --retries=3 \
    CMD ["clamdscan", "--config-file=/etc/clamav/clamd.conf", "--ping", "1"]
# Signatures first (the volume keeps them between restarts), then updates every 2 hours.
CMD ["sh", "-c", "freshclam --stdout; freshclam --daemon --checks=12 && exec clamd --config-file=/etc/clamav/clamd.conf"]

FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=lpo_tracker.settings

WORKDIR /app
# The supervision file's PDF report (WeasyPrint) needs Pango and the fonts it embeds; the
# only system packages this stage installs (no compiler, no pip).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 lpo
COPY --from=build /opt/venv /opt/venv

# Only the project's own code (the layout in docs/architecture.md; .dockerignore keeps the
# rest out of the context).
COPY manage.py pyproject.toml gunicorn.conf.py ./
COPY lpo_tracker/ lpo_tracker/
COPY vendors/ vendors/
COPY matters/ matters/
COPY supervision/ supervision/

# Hashed, compressed static files for WhiteNoise. The keys exist only for this build step.
RUN LPO_ENV=production LPO_VAR_DIR=/tmp/build-var ALLOWED_HOSTS=build.invalid \
    CLAMAV_ADDRESS=off \
    SECRET_KEY=collectstatic-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz \
    AUDIT_HMAC_KEY=collectstatic-only-not-an-audit-key-0123456789 \
    python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-var \
    && mkdir -p /data/private /data/var \
    && chown -R lpo:lpo /data

USER lpo
EXPOSE 8000
# The web service's health page, asked of gunicorn directly (worker and beat override it).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-m", "lpo_tracker.healthprobe"]
CMD ["gunicorn", "--config", "gunicorn.conf.py"]
