"""deploy/systemd: `systemd-analyze verify` accepts every unit, with /srv/shop moved into a tmp
folder where the programs they start exist (verify checks that each ExecStart is executable),
and the timers start the commands the docs promise, when they promise.

verify needs no running systemd with --man=no and --generators=no. Without systemd-analyze
the test skips, unless REQUIRE_SYSTEMD=1 (.ci/run sets it; Debian's `systemd` package has it).
Unknown keys only warn (exit 0), so any word verify says is a failure here.
"""

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.flask_commands import parse_error

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"

# Each timer's command and schedule, as docs/deploy.md describes them.
TIMERS = {
    "shop-reconcile": ("orders reconcile", "*:0/5"),
    "shop-bill": ("orders bill", "*-*-* 10:30:00 Asia/Shanghai"),
    "shop-recommendations": ("recs rebuild", "*-*-* 03:30:00 Asia/Shanghai"),
    "shop-backup": ("shop backup", "*-*-* 04:30:00 Asia/Shanghai"),
    "shop-reminders": ("shop remind-members", "*-*-* 20:00:00 Asia/Shanghai"),
}


# The services that run always (the rest run on their timers).
SERVICES = ("shop.service", "shop-media.service")


def _systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("REQUIRE_SYSTEMD") == "1":
            pytest.fail("REQUIRE_SYSTEMD=1 but systemd-analyze is not installed", pytrace=False)
        pytest.skip("systemd-analyze is not installed (apt install systemd); .ci/run has it")
    return found


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNITS / name)
    return parser


def test_systemd_analyze_verifies_every_unit(tmp_path):
    binary = _systemd_analyze()
    checkout = tmp_path / "srv" / "shop"
    programs = checkout / ".venv" / "bin"
    programs.mkdir(parents=True)
    for program in ("gunicorn", "flask"):
        (programs / program).write_text("#!/bin/sh\n")
        (programs / program).chmod(0o755)
    folder = tmp_path / "units"
    folder.mkdir()
    for unit in sorted(UNITS.iterdir()):
        (folder / unit.name).write_text(unit.read_text().replace("/srv/shop", str(checkout)))
    names = sorted(path.name for path in folder.iterdir())
    assert len(names) == len(SERVICES) + 2 * len(TIMERS)
    result = subprocess.run(
        [binary, "verify", "--man=no", "--generators=no", *names],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_the_shop_reloads_gracefully_and_writes_only_its_instance():
    service = _unit("shop.service")["Service"]
    assert service["ExecStart"].endswith("gunicorn -c /srv/shop/deploy/gunicorn.conf.py")
    assert service["ExecReload"] == "/bin/kill -s HUP $MAINPID"
    assert service["Restart"] == "on-failure"
    assert (service["User"], service["WorkingDirectory"]) == ("shop", "/srv/shop")
    assert service["EnvironmentFile"] == "-/etc/shop/env"
    assert (service["ProtectSystem"], service["ReadWritePaths"]) == ("strict", "/srv/shop/instance")
    assert service["NoNewPrivileges"] == service["PrivateTmp"] == "yes"


@pytest.mark.parametrize("name", sorted(TIMERS))
def test_each_timer_runs_its_command_on_schedule(name):
    command, schedule = TIMERS[name]
    service = _unit(f"{name}.service")["Service"]
    assert service["Type"] == "oneshot"
    assert service["ExecStart"] == f"/srv/shop/.venv/bin/flask {command}"
    assert (service["User"], service["ReadWritePaths"]) == ("shop", "/srv/shop/instance")
    timer = _unit(f"{name}.timer")["Timer"]
    assert timer["OnCalendar"] == schedule
    assert timer["Persistent"] == "true"


@pytest.mark.parametrize("name", sorted(TIMERS))
def test_each_timer_command_is_a_command_of_the_shop(app, name):
    command, _ = TIMERS[name]
    assert parse_error(app, command.split()) is None


def test_the_media_worker_runs_always_beside_the_shop(app):
    service = _unit("shop-media.service")["Service"]
    assert service["ExecStart"] == "/srv/shop/.venv/bin/flask shop media-worker"
    assert (service["Type"], service["Restart"]) == ("simple", "always")
    assert (service["User"], service["ReadWritePaths"]) == ("shop", "/srv/shop/instance")
    assert parse_error(app, ["shop", "media-worker"]) is None
