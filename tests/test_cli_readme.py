"""The README's opening promise: two set-up commands, the first analyzing a bundled recording."""

import json
import re
import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

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
    assert install_and_run.startswith("pip install . && sensorback analyze ")
    assert install_and_test == "pip install '.[test]' && pytest"


def test_readme_first_command_analyzes_a_bundled_recording(tmp_path):
    run_part = opening_commands()[0].split("&&", 1)[1]
    args = shlex.split(run_part)[1:]  # drop "sensorback"
    recording = ROOT / args[-1]
    if not recording.exists() and recording.name == "demo.sbr":
        pytest.skip("recordings/demo.sbr is not in the tree yet (the lead adds it)")
    assert recording.exists(), f"README's first command names a missing file: {args[-1]}"
    p = subprocess.run([installed_script(), *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert "sitting bouts:" in p.stdout
    assert "Traceback" not in p.stderr
    p = subprocess.run([installed_script(), *args, "--json"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL)
    assert json.loads(p.stdout)["summary"]["total_s"] > 0
