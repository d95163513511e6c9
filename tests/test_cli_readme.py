"""The README's opening promise: two set-up commands, the first running the live monitor on the
bundled simulated wearer."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent


def installed_script() -> str:
    found = shutil.which("sensorback", path=sysconfig.get_path("scripts")) or shutil.which("sensorback")
    assert found, "the sensorback console script is not installed; run pip install -e '.[test]'"
    return found


def opening_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```[a-z]*\n(.*?)```", text, re.S)
    assert block, "README.md has no code block"
    before = text[: block.start()].strip().splitlines()
    assert all(line.startswith("#") for line in before), "README must open with the set-up commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_two_setup_commands():
    install_and_run, install_and_test = opening_commands()
    assert install_and_run.startswith("pip install . && sensorback monitor --demo")
    assert install_and_test == "pip install '.[test]' && pytest"


def test_readme_first_command_runs_the_main_job_and_ends(tmp_path):
    """Run as written (no terminal, so it prints lines), in a throwaway home; it must finish by
    itself, store the session and print the coach's view of the demo. Its simulated day goes to a
    demo database of its own, never into the user's ($SENSORBACK_DB or the default one), and the
    last line says how to look at it."""
    run_part = opening_commands()[0].split("&&", 1)[1]
    args = shlex.split(run_part)[1:]  # drop "sensorback"
    env = dict(os.environ, SENSORBACK_DB=str(tmp_path / "sb.db"), SENSORBACK_CONFIG=str(tmp_path / "c.toml"),
               SENSORBACK_CALIBRATIONS=str(tmp_path / "cal.json"), HOME=str(tmp_path),
               XDG_DATA_HOME=str(tmp_path / "data"))
    p = subprocess.run([installed_script(), *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL, env=env)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    # (slouching is not required: a live session without a stored calibration cannot tell forward
    # from backward until the wearer's first sit/stand transitions, and the demo slouches early;
    # see the monitor's provisional-calibration note)
    for state in ("moving", "sitting", "lying", "not_worn"):
        assert f"state: {state}" in p.stdout, state
    demo_db = tmp_path / "data" / "sensorback" / "demo.db"
    stored = re.search(r"stopped: (\d+) epochs stored \(session 1\) in (.+)$", p.stderr, re.M)
    assert stored and int(stored.group(1)) > 600 and stored.group(2) == str(demo_db), p.stderr[-500:]
    assert p.stderr.splitlines()[-1] == f"note: the demo is stored apart from your own data; see it with: " \
        f"sensorback report --db {demo_db}"
    assert demo_db.stat().st_mode & 0o777 == 0o600
    for own, extra in ((tmp_path / "sb.db", {}), (tmp_path / "data" / "sensorback" / "sensorback.db",
                                                  {"SENSORBACK_DB": ""})):
        assert not own.exists(), own
        report = subprocess.run([installed_script(), "report"], cwd=ROOT, capture_output=True, text=True,
                                timeout=300, stdin=subprocess.DEVNULL, env=dict(env, **extra))
        assert report.returncode == 0, report.stderr
        assert "Nothing is recorded in the database yet" in report.stdout, report.stdout
    # the demo's day: today, unless it began just before midnight, when it is stored on the day it
    # began (ending at midnight) and 'report' of today, run after midnight, rightly has none of it
    from sensorback.store import open_store
    with open_store(str(demo_db), read_only=True) as store:
        day = store.session(1).started_at.astimezone().date()
    report = subprocess.run([installed_script(), "report", "--db", str(demo_db), "--day", day.isoformat()],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, env=env)
    assert report.returncode == 0 and "Nothing is recorded" not in report.stdout, report.stdout
    assert re.search(r"^  seated +\d+ min", report.stdout, re.M), report.stdout
    assert re.search(r"^    of it sitting upright +\d+ min", report.stdout, re.M), report.stdout


def test_readme_mentions_analyze_of_the_bundled_recording():
    recording = ROOT / "recordings" / "demo.sbr"
    assert "sensorback analyze recordings/demo.sbr" in (ROOT / "README.md").read_text()
    p = subprocess.run([installed_script(), "analyze", str(recording), "--json"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["summary"]["total_s"] > 0
