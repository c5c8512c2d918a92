"""`flask shop doctor`: each check's good and bad cases, the pay key and the AppSecret against
the sandbox, the public address through the shop's own /healthz, and the command itself."""

from datetime import timedelta

import pytest
import requests
from flask_migrate import stamp

from app import doctor, jobs
from app.doctor import Level, PublicProbe
from app.health import Health
from app.models import JobRun
from app.models.base import utcnow
from app.payments.gateway import current_gateway
from app.wechat.official_account import current_client
from app.wechat.transport import InProcessAdapter
from tests.payments.helpers import bought_and_paid

PUBLIC = "https://shop.example.com"
LIVE = {
    "WECHAT_SANDBOX": False,
    "WECHAT_APPID": "wx1234567890abcdef",
    "WECHAT_APP_SECRET": "0123456789abcdef0123456789abcdef",
    "WECHAT_MCH_ID": "1230000109",
    "WECHAT_PAY_API_KEY": "A" * 32,
    "WECHAT_PAY_CERT_PATH": "",
    "WECHAT_PAY_KEY_PATH": "",
    "WECHAT_TOKEN": "",
    "WECHAT_ENCODING_AES_KEY": "",
    "WECHAT_TOKEN_REDIS_URL": "",
    "WECHAT_TEMPLATE_PURCHASE": "",
    "WECHAT_TEMPLATE_TIP": "",
    "WECHAT_TEMPLATE_CREATOR": "",
    "WECHAT_TEMPLATE_MEMBERSHIP": "",
    "PUBLIC_BASE_URL": PUBLIC,
    "PROXY_FIX_HOPS": 1,
    "RATELIMIT_STORAGE_URI": "memory://",
}


def _levels(findings):
    return {f.check: f.level for f in findings}


# --- the configuration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://shop.example.com",
        "https://shop.example.com:8443",
        "https://example.com/shop",
        "https://203.0.113.7",
    ],
)
def test_a_public_address_wechat_would_refuse_blocks(url):
    finding = doctor.check_public_base_url({"PUBLIC_BASE_URL": url})
    assert finding.level is Level.BLOCK
    assert finding.zh and finding.en and finding.todo


def test_an_https_bare_domain_is_fine():
    for url in (PUBLIC, PUBLIC + "/"):
        assert doctor.check_public_base_url({"PUBLIC_BASE_URL": url}).level is Level.OK


def test_wechat_keys_by_the_configurations_own_rules(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("c")
    key.write_text("k")
    complete = {**LIVE, "WECHAT_PAY_CERT_PATH": str(cert), "WECHAT_PAY_KEY_PATH": str(key)}
    assert doctor.check_wechat_keys(complete).level is Level.OK

    no_certificate = doctor.check_wechat_keys(LIVE)
    assert no_certificate.level is Level.WARN and "退款" in no_certificate.zh

    malformed = doctor.check_wechat_keys({**complete, "WECHAT_MCH_ID": "12ab", "WECHAT_TOKEN": "!"})
    assert malformed.level is Level.BLOCK
    assert "WECHAT_MCH_ID" in malformed.en and "WECHAT_TOKEN" in malformed.en
    assert "12ab" not in malformed.zh + malformed.en  # values may be secrets: never quoted


def test_sandbox_on_blocks():
    assert doctor.check_sandbox({"WECHAT_SANDBOX": True}).level is Level.BLOCK
    assert doctor.check_sandbox({"WECHAT_SANDBOX": False}).level is Level.OK


def test_folders_must_take_new_files(tmp_path):
    assert doctor.check_folders(str(tmp_path), str(tmp_path / "uploads")).level is Level.OK
    (tmp_path / "a-file").write_text("")
    blocked = doctor.check_folders(str(tmp_path), str(tmp_path / "a-file" / "uploads"))
    assert blocked.level is Level.BLOCK and "a-file" in blocked.en


def test_the_secret_key_is_long_and_private(tmp_path):
    assert doctor.check_secret_key({"SECRET_KEY": "short"}, str(tmp_path)).level is Level.WARN
    key_file = tmp_path / "secret_key"
    key_file.write_text("k" * 64)
    key_file.chmod(0o644)
    assert doctor.check_secret_key({"SECRET_KEY": "k" * 64}, str(tmp_path)).level is Level.WARN
    key_file.chmod(0o600)
    assert doctor.check_secret_key({"SECRET_KEY": "k" * 64}, str(tmp_path)).level is Level.OK


def test_rate_limit_counts_in_memory_warn_only_with_several_workers():
    memory = {"RATELIMIT_STORAGE_URI": "memory://"}
    several = doctor.check_rate_limit_storage(memory, workers=4)
    assert several.level is Level.WARN and "数据库" in several.zh
    assert doctor.check_rate_limit_storage(memory, workers=1).level is Level.OK
    redis = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/1"}
    assert doctor.check_rate_limit_storage(redis, workers=4).level is Level.OK


def test_the_domains_are_named_for_the_creator_to_verify():
    finding = doctor.check_domains({"PUBLIC_BASE_URL": PUBLIC})
    assert finding.level is Level.WARN
    assert "shop.example.com" in finding.zh and "网页授权域名" in finding.zh
    assert "JS接口安全域名" in finding.zh
    assert "还没有 MP_verify" in finding.zh
    served = doctor.check_domains({"PUBLIC_BASE_URL": PUBLIC}, ["MP_verify_abc123.txt"])
    assert "MP_verify_abc123.txt" in served.zh and "MP_verify_abc123.txt" in served.en


def test_the_shop_serves_the_domain_verification_file_from_its_instance_folder(app, client):
    from pathlib import Path

    Path(app.instance_path, "MP_verify_Ab12Cd34.txt").write_text("Ab12Cd34")
    with client.get("/MP_verify_Ab12Cd34.txt") as answer:
        assert answer.status_code == 200 and answer.get_data(as_text=True) == "Ab12Cd34"
        assert answer.mimetype == "text/plain"
    assert client.get("/MP_verify_Other99.txt").status_code == 404
    assert client.get("/MP_verify_..%2Fsecret_key.txt").status_code == 404
    assert client.get("/MP_verify_a-b.txt").status_code == 404


def test_the_database_must_answer_and_be_migrated():
    assert doctor.check_database(Health(True, True)).level is Level.OK
    assert doctor.check_database(Health(True, False)).level is Level.BLOCK
    assert doctor.check_database(Health(False, False)).level is Level.BLOCK


def test_reconcile_must_have_run_lately_and_well():
    now = utcnow()

    def run(minutes_ago, ok=True, error=""):
        started = now - timedelta(minutes=minutes_ago)
        return JobRun(
            name="reconcile",
            last_started_at=started,
            last_finished_at=started,
            last_ok=ok,
            last_error=error,
        )

    assert doctor.check_reconcile(None, now).level is Level.WARN
    assert doctor.check_reconcile(run(3), now).level is Level.OK
    stale = doctor.check_reconcile(run(40), now)
    assert stale.level is Level.WARN and "40" in stale.en
    failed = doctor.check_reconcile(run(3, ok=False, error="2 个错误"), now)
    assert failed.level is Level.WARN and "2 个错误" in failed.zh


def test_a_backup_must_have_been_made_lately_and_well():
    now = utcnow()

    def run(hours_ago, ok=True, error=""):
        started = now - timedelta(hours=hours_ago)
        return JobRun(name="backup", last_started_at=started, last_ok=ok, last_error=error)

    assert doctor.check_backup(None, now).level is Level.WARN
    assert doctor.check_backup(run(5), now).level is Level.OK
    stale = doctor.check_backup(run(50), now)
    assert stale.level is Level.WARN and "50" in stale.en
    failed = doctor.check_backup(run(5, ok=False, error="备份失败：磁盘已满"), now)
    assert failed.level is Level.WARN and "磁盘已满" in failed.zh


def test_the_scheduled_commands_record_their_runs(app, runner, tmp_path):
    assert runner.invoke(args=["orders", "bill"]).exit_code == 0
    assert runner.invoke(args=["shop", "backup", "--to", str(tmp_path / "b")]).exit_code == 0
    assert runner.invoke(args=["recs", "rebuild"]).exit_code == 0
    with app.app_context():
        for name in (jobs.BILL, jobs.BACKUP, jobs.RECOMMENDATIONS):
            assert jobs.last_run(name).last_ok is True, name


def test_a_bill_with_differences_is_a_run_that_did_not_go_well(app, runner):
    from tests.payments.test_bill_checks import _lose_the_payment
    from tests.payments.test_reconcile import _today

    out_trade_no, _, _ = bought_and_paid(app)
    _lose_the_payment(app, out_trade_no)
    assert runner.invoke(args=["orders", "bill", "--date", _today()]).exit_code == 1
    with app.app_context():
        last = jobs.last_run(jobs.BILL)
        assert last.last_ok is False and "1 处差异" in last.last_error


# --- WeChat's answers, from the sandbox -----------------------------------------------------


def test_the_pay_key_is_accepted_by_the_sandbox_as_by_wechat(app_ctx, app):
    assert doctor.check_pay_key(current_gateway()).level is Level.OK


def test_a_wrong_pay_key_is_refused_with_a_signature_error(app_ctx, app):
    gateway = current_gateway()  # signs with the shop's key
    app.config["WECHAT_PAY_API_KEY"] = "B" * 32  # the key 商户平台 (the sandbox) holds now
    finding = doctor.check_pay_key(gateway)
    assert finding.level is Level.BLOCK
    assert "签名" in finding.zh and "WECHAT_PAY_API_KEY" in finding.zh


def test_a_foreign_merchant_id_blocks_with_wechats_code(app_ctx, app):
    gateway = current_gateway()
    app.config["WECHAT_MCH_ID"] = "1999999999"
    finding = doctor.check_pay_key(gateway)
    assert finding.level is Level.BLOCK and "MCHID_NOT_EXIST" in finding.en


def test_no_answer_from_wechat_pay_blocks(app_ctx, app):
    gateway = current_gateway()
    gateway.client.API_BASE_URL = "http://127.0.0.1:9/pay/"  # nothing listens there
    finding = doctor.check_pay_key(gateway)
    assert finding.level is Level.BLOCK and "NETWORK" in finding.en


def test_the_app_secret_is_accepted_by_the_sandbox(app_ctx):
    assert doctor.check_app_secret(lambda: current_client().access_token).level is Level.OK


def test_a_wrong_app_secret_blocks_with_wechats_explanation(app_ctx, app):
    client = current_client()  # asks with the shop's AppSecret
    app.config["WECHAT_APP_SECRET"] = "d" * 32  # the one the 公众号 (the sandbox) holds now
    refused = doctor.check_app_secret(lambda: client.access_token)
    assert refused.level is Level.BLOCK
    assert "40001" in refused.zh and "WECHAT_APP_SECRET" in refused.zh


# --- the public address, through the shop's own /healthz ------------------------------------


def _through_proxies(app, proxies: int) -> requests.Session:
    """A session whose https://shop.example.com is the app behind `proxies` proxies that each
    add the address they saw to X-Forwarded-For, as nginx does."""

    def proxied(environ, start_response):
        added = [f"198.51.100.{n}" for n in range(1, proxies + 1)]
        if added:
            environ["HTTP_X_FORWARDED_FOR"] = ", ".join(added)
        return app(environ, start_response)

    http = requests.Session()
    http.mount(PUBLIC, InProcessAdapter(proxied))
    return http


@pytest.fixture
def public_app(app_factory):
    def build(hops: int):
        app = app_factory(PUBLIC_BASE_URL=PUBLIC, PROXY_FIX_HOPS=hops)
        with app.app_context():
            stamp()
        return app

    return build


@pytest.mark.parametrize(
    ("hops", "proxies", "level"),
    [
        (0, 0, Level.OK),
        (1, 1, Level.OK),
        (0, 1, Level.BLOCK),
        (2, 1, Level.BLOCK),
        (1, 2, Level.BLOCK),
    ],
)
def test_proxy_fix_hops_against_the_proxies_seen(public_app, hops, proxies, level):
    app = public_app(hops)
    probe = doctor.probe_public(PUBLIC, _through_proxies(app, proxies))
    assert probe.status == 200
    assert doctor.check_public_reachable(probe).level is Level.OK
    assert doctor.check_proxy_hops(app.config, probe).level is level


def test_a_public_address_that_does_not_answer_cannot_tell(public_app):
    app = public_app(1)
    probe = doctor.probe_public("http://127.0.0.1:9", requests.Session())
    assert probe.status is None and probe.failure
    assert doctor.check_public_reachable(probe).level is Level.WARN
    assert doctor.check_proxy_hops(app.config, probe).level is Level.WARN


def test_an_unhealthy_shop_at_the_public_address_is_not_called_reachable(app_factory):
    app = app_factory(PUBLIC_BASE_URL=PUBLIC)  # never migrated: /healthz answers 503
    probe = doctor.probe_public(PUBLIC, _through_proxies(app, 0))
    assert probe.status == 503
    assert doctor.check_public_reachable(probe).level is Level.WARN


def test_a_refused_certificate_blocks():
    finding = doctor.check_public_reachable(
        PublicProbe(failure="SSLError", certificate_refused=True)
    )
    assert finding.level is Level.BLOCK


# --- the command ---------------------------------------------------------------------------


def test_the_command_in_sandbox_mode_blocks_on_it_and_runs_the_rest(app, runner):
    result = runner.invoke(args=["shop", "doctor"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("✗ 沙箱模式开着") and "Sandbox mode is on" in lines[0]
    assert any(line.startswith("✓ 微信支付接受了") for line in lines)  # the sandbox's answer
    assert "阻止上线" in lines[-1] and "blocking" in lines[-1]


def test_a_ready_shop_passes_offline(app_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("c")
    key.write_text("k")
    app = app_factory(
        **{**LIVE, "WECHAT_PAY_CERT_PATH": str(cert), "WECHAT_PAY_KEY_PATH": str(key)},
        SECRET_KEY="s" * 64,
    )
    with app.app_context():
        stamp()
    for job in (jobs.RECONCILE, jobs.BACKUP):
        with app.app_context(), jobs.recorded(job):
            pass

    result = app.test_cli_runner().invoke(args=["shop", "doctor", "--offline"])
    assert result.exit_code == 0, result.output
    marks = [line[0] for line in result.output.splitlines() if line[:1] in "✓!✗"]
    assert marks.count("✗") == 0 and marks.count("!") == 1  # the domains, verified by hand
    assert "Offline: 4 checks" in result.output


def test_the_command_blocks_on_a_database_behind(app_factory, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    app = app_factory(**LIVE, SECRET_KEY="s" * 64)
    with app.app_context():
        stamp(revision="f3808e2faf8b")
    result = app.test_cli_runner().invoke(args=["shop", "doctor", "--offline"])
    assert result.exit_code == 1
    assert "✗ 数据库结构不是最新的" in result.output
    assert "flask db upgrade" in result.output
