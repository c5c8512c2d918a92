"""How many processes and threads serve the shop, read by the gunicorn configuration
(deploy/gunicorn.conf.py) and by `flask shop doctor`, so both count the same way.

Threads rather than more processes: a request mostly waits (on the database, on WeChat),
each process keeps its own page cache, and behind nginx a slow phone is buffered by nginx,
never by a Python thread.
"""

import os

DEFAULT_THREADS = 8


def worker_count(environ=os.environ, cores: int | None = None) -> int:
    """WEB_CONCURRENCY when set (the convention gunicorn and most hosts share), else one
    process per core, at least two so a reload never leaves the shop without a worker."""
    configured = environ.get("WEB_CONCURRENCY", "").strip()
    if configured:
        return max(1, int(configured))
    return max(2, cores if cores is not None else (os.cpu_count() or 1))


def thread_count(environ=os.environ) -> int:
    configured = environ.get("GUNICORN_THREADS", "").strip()
    return max(1, int(configured)) if configured else DEFAULT_THREADS
