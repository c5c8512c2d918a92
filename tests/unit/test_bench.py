"""The benchmarks that need a data set from outside the repository say where to get it."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def test_recs_eval_without_movielens_says_where_to_get_it(tmp_path):
    missing = tmp_path / "ml-latest-small"
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "recs_eval.py"), "--data", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode != 0
    assert "ml-latest-small is missing" in run.stderr and str(missing) in run.stderr
    assert "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip" in run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
