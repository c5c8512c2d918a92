from app.serving import DEFAULT_THREADS, thread_count, worker_count


def test_one_worker_per_core_and_never_fewer_than_two():
    assert worker_count({}, cores=4) == 4
    assert worker_count({}, cores=1) == 2


def test_web_concurrency_wins():
    assert worker_count({"WEB_CONCURRENCY": "3"}, cores=16) == 3


def test_threads_default_and_override():
    assert thread_count({}) == DEFAULT_THREADS
    assert thread_count({"GUNICORN_THREADS": "4"}) == 4
