"""Bad input to `haplan up` and `haplan fault` is one line on stderr and exit 2, before anything
starts: a timeout out of range, a pool file that cannot be read, an unknown fault kind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def haplan(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("up", "--timeout", "0.5"), "--timeout 0.5 is not a number of seconds from 1"),
        (("up", "--timeout", "nan"), "--timeout nan"),
        (("up", "no-such-pool.yaml"), "no-such-pool.yaml: cannot read the pool file"),
        (("fault", "zap", "lab1"), "No such command 'zap'"),
        (("fault", "power"), "Missing argument 'HOST'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_and_starts_nothing(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    """Each mistake gets exit 2 and one stderr line naming it; no runtime directory is made."""
    done = haplan(tmp_path, *args)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert says in done.stderr
    assert not (tmp_path / "haplan").exists()


def test_a_pool_file_whose_timeout_is_too_short_for_up_is_one_line(tmp_path: Path) -> None:
    """`haplan up POOL` keeps the file's ha.timeout_s, so a file saying 0.5 s (valid as a pool
    file) is refused like --timeout 0.5 would be: exit 2, one line naming the file and how to
    go on, nothing started."""
    pool = tmp_path / "fast.yaml"
    lab = (ROOT / "schemas" / "examples" / "lab.yaml").read_text()
    pool.write_text(lab.replace("timeout_s: 30", "timeout_s: 0.5"))
    done = haplan(tmp_path, "up", str(pool))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert f"{pool}: ha.timeout_s 0.5 is below 1 s" in done.stderr and "--timeout" in done.stderr
    assert not (tmp_path / "haplan").exists()
