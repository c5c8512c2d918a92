"""gunicorn's configuration for the shop: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Used by deploy/systemd/shop.service and by the container (Dockerfile). Environment variables
change what differs between the two: GUNICORN_BIND, WEB_CONCURRENCY, GUNICORN_THREADS,
FORWARDED_ALLOW_IPS.
"""

import os
import sys
from pathlib import Path

# The checkout this file lives in: app.serving is imported from it and wsgi:app is found in
# it, whatever folder gunicorn is started from.
CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT))

from app.serving import thread_count, worker_count  # noqa: E402

chdir = str(CHECKOUT)
wsgi_app = "wsgi:app"

# Loopback only: nginx (deploy/nginx/shop.conf, `upstream shop`) is the one way in. The
# container listens on 0.0.0.0:8000 inside its own network namespace.
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]

# Threads, not more processes and not an async worker: a request mostly waits on the
# database or on WeChat, and nginx buffers slow phones both ways, so a thread is held only
# while the shop works. The counts live in app/serving.py, which `flask shop doctor` reads.
worker_class = "gthread"
workers = worker_count()
threads = thread_count()

# A worker that says nothing for this long is killed and replaced; a request calling WeChat
# gives up after WECHAT_HTTP_TIMEOUT (10 s) well before.
timeout = 30
# `systemctl reload shop` sends HUP: new workers start with the new code, old ones finish
# their requests for up to this long. That is why the app is not preloaded: a preloaded app
# would keep the old code across a HUP.
graceful_timeout = 30
preload_app = False
# Longer than nginx keeps an idle upstream connection (keepalive_timeout 60s in the site), so
# nginx always closes first and never sends a request down a connection gunicorn just closed.
keepalive = 75

# Who may set X-Forwarded-Proto for gunicorn itself: nginx on this machine. The app reads the
# forwarded headers through PROXY_FIX_HOPS (1 behind this nginx), not through gunicorn.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# To standard output, so journald (or `docker logs`) keeps them. The path only, never the
# query string (share links carry the sharer's code in `by=`, the WeChat sign-in callback an
# OAuth `code=`), and no Referer, which carries the same. The client is the address nginx
# saw (X-Real-IP), since gunicorn's own peer is nginx; "-" without nginx.
accesslog = "-"
errorlog = "-"
access_log_format = '%({x-real-ip}i)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'

# No runtime control socket (gunicorn would create one under the home folder, which the
# service cannot write): systemd's HUP and TERM are the only controls the shop needs.
control_socket_disable = True
