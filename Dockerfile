# The shop in a container: gunicorn with deploy/gunicorn.conf.py on 0.0.0.0:8000, behind the
# nginx of compose.yaml. CI lints this file (hadolint) but cannot build it: there is no
# container engine on CI's machine. See docs/deploy.md.
FROM python:3.11-slim-bookworm

# pg_dump for `flask shop backup` of the PostgreSQL database; bookworm's is 15, as the
# database's. Not pinned: Debian's security updates replace the exact version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_APP=wsgi.py \
    SHOP_INSTANCE_PATH=/srv/shop/instance \
    NUMBA_CACHE_DIR=/srv/shop/instance/numba-cache \
    GUNICORN_BIND=0.0.0.0:8000

# A fixed id, so the instance volume's owner means the same user in every image.
RUN groupadd --system --gid 10001 shop \
    && useradd --system --uid 10001 --gid shop --home-dir /srv/shop --no-create-home shop

WORKDIR /srv/shop
# Dependencies first: a change to the code does not reinstall them.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# hls.js for the player, pinned and checked (app/web/vendor.py); pages never load it from a CDN.
RUN python -m app.web.vendor
RUN mkdir -p instance && chown shop:shop instance

USER 10001:10001
VOLUME ["/srv/shop/instance"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["sh", "deploy/container/start.sh"]
