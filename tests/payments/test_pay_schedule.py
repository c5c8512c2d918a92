"""The pay page's polling schedule (static/js/pay-schedule.js), run by Node when it is there."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SCHEDULE = Path(__file__).resolve().parents[2] / "app" / "static" / "js" / "pay-schedule.js"


def _delays(open_for_ms: list[int]) -> list[int]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (
        f"const {{ payPollDelay }} = require({json.dumps(str(SCHEDULE))});"
        f"console.log(JSON.stringify({json.dumps(open_for_ms)}.map(payPollDelay)));"
    )
    result = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_the_page_asks_often_while_the_reader_pays_then_backs_off():
    minute = 60_000
    assert _delays([0, 59_999, minute, 10 * minute - 1, 10 * minute, 60 * minute]) == [
        2000,
        2000,
        10000,
        10000,
        30000,
        30000,
    ]


def test_an_abandoned_tab_asks_a_few_hundred_times_an_hour_not_thousands():
    hour = 3_600_000
    checkpoints = list(range(0, hour, 1000))
    delays = dict(zip(checkpoints, _delays(checkpoints), strict=True))
    polls, at = 0, 0
    while at < hour:
        at += delays[at // 1000 * 1000]
        polls += 1
    assert polls < 200  # every 2 s for an hour would be 1,800
