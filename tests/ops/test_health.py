"""/healthz: 200 while the database answers and is migrated to the code's head, 503 otherwise."""

from flask_migrate import stamp

from app import create_app
from app.extensions import db

OLDER_REVISION = "f3808e2faf8b"


def _stamp(app, revision="head"):
    with app.app_context():
        stamp(revision=revision)


def test_a_migrated_shop_is_healthy_and_says_nothing_more(app, client):
    _stamp(app)
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "ok": True,
        "database": "ok",
        "migrations": "current",
        "forwarded_for": 0,
    }
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in answer.headers


def test_migrations_behind_answer_503(app, client):
    _stamp(app, OLDER_REVISION)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json()["migrations"] == "behind"
    assert answer.get_json()["database"] == "ok"
    assert OLDER_REVISION not in answer.get_data(as_text=True)


def test_a_database_never_migrated_answers_503(app, client):
    answer = client.get("/healthz")
    assert (answer.status_code, answer.get_json()["migrations"]) == (503, "behind")


def test_a_database_that_does_not_answer_answers_503(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "WECHAT_SANDBOX": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'shop.db'}",
        },
        instance_path=str(tmp_path / "instance"),
    )
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json()["database"] == "failed"
    with app.app_context():
        db.engine.dispose()


def test_it_counts_the_forwarded_addresses_as_they_arrived(app_factory):
    for hops in (0, 1):
        app = app_factory(PROXY_FIX_HOPS=hops)
        _stamp(app)
        answer = app.test_client().get(
            "/healthz", headers={"X-Forwarded-For": "203.0.113.7, 198.51.100.2"}
        )
        assert answer.get_json()["forwarded_for"] == 2
        assert "203.0.113.7" not in answer.get_data(as_text=True)


def test_it_is_never_rate_limited(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, API_RATE_LIMIT="2 per minute")
    _stamp(app)
    client = app.test_client()
    assert {client.get("/healthz").status_code for _ in range(5)} == {200}
