"""`sensorback cohort`: an --out folder that is the study folder, holds it, or holds an input file.

`cohort study --out study` said "error: study: no recordings in this folder" of a folder full of them
(the search leaves out everything in --out) and left study/.sensorback-cohort.lock behind; with the
files named (`cohort study/*.sbr --out study`) the tables went among the recordings, and the next
`cohort study/* --out study --resume` failed on study/days.parquet. Such an --out is now refused in one
line before anything is written. A results folder inside the study is still taken (and left out of
the search)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

DEMO = Path(__file__).parents[1] / "recordings" / "demo.sbr"
DEADLINE_S = 180.0


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "sensorback.cli", *args], capture_output=True, text=True,
                          timeout=DEADLINE_S, cwd=cwd)


def tree(folder: Path) -> dict:
    """Every entry under folder (hidden ones too) with its bytes (files) or its target (links)."""
    found = {}
    for q in sorted(folder.rglob("*")):
        key = str(q.relative_to(folder))
        found[key] = os.readlink(q) if q.is_symlink() else q.read_bytes() if q.is_file() else "folder"
    return found


@pytest.fixture()
def here(tmp_path) -> Path:
    """tmp_path holding study/ (two recordings and sub/ with a third) and studylink -> study."""
    study = tmp_path / "study"
    (study / "sub").mkdir(parents=True)
    for q in (study / "a.sbr", study / "b.sbr", study / "sub" / "c.sbr"):
        shutil.copy(DEMO, q)
    (tmp_path / "studylink").symlink_to("study")
    return tmp_path


REFUSED = [  # INPUTS..., --out DIR, what the line says of them
    (["study"], "study", "is the input folder study"),
    (["study"], "./study/", "is the input folder study"),
    (["study/sub"], "study", "holds the input folder study/sub"),
    (["studylink"], "study", "is the input folder studylink"),
    (["study"], "studylink", "is the input folder study"),
    (["study/a.sbr", "study/b.sbr"], "study", "holds the input study/a.sbr"),
    (["study/sub/c.sbr"], "study", "holds the input study/sub/c.sbr"),
    (["study/sub"], "study/sub", "is the input folder study/sub"),  # a shell's study/* names --out study/sub too
    (["study/**/*.sbr"], "study", "is the folder the pattern 'study/**/*.sbr' looks in"),
    (["study/sub/*.sbr"], "study", "holds the folder the pattern 'study/sub/*.sbr' looks in"),
    (["*.sbr"], ".", "is the folder the pattern '*.sbr' looks in"),
]


@pytest.mark.parametrize("flag", [None, "--resume"])
@pytest.mark.parametrize("inputs,out,said", REFUSED)
def test_an_out_folder_holding_the_inputs_is_refused_before_anything_is_written(here, inputs, out, said, flag):
    if out == ".":  # the pattern's folder is the current one: a recording there
        shutil.copy(DEMO, here / "top.sbr")
    before = tree(here)
    res = cli("cohort", *inputs, "--out", out, "--workers", "1", *([flag] if flag else []), cwd=here)
    assert res.returncode == 2, res.stderr
    shown = str(Path(out))  # as the line spells it: ./study/ is study
    assert res.stderr == (f"error: --out {shown}: {said}; --out may not be the study folder or hold any input "
                          "(results and recordings would mix): give another folder, e.g. a new one beside it\n")
    assert res.stdout == ""
    assert tree(here) == before  # no lock file, marker or table in the study


def test_a_results_folder_inside_the_study_is_still_taken_and_left_out_of_the_search(here):
    """Only an --out that holds inputs is refused: one inside the study folder, or beside the named
    files, holds none of them, and the run finds the recordings around it."""
    res = cli("cohort", "study", "--out", "study/results", "--workers", "1", "--no-dashboard", cwd=here)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("3 files: 3 ok, 0 failed"), res.stdout
    rows = (here / "study" / "results" / "files.csv").read_text().splitlines()
    assert [Path(r.split(",")[0]).name for r in rows[1:]] == ["a.sbr", "b.sbr", "c.sbr"]
    res = cli("cohort", "study/sub/c.sbr", "--out", "study/elsewhere", "--workers", "1", "--no-dashboard",
              cwd=here)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("1 file: 1 ok, 0 failed"), res.stdout
    assert sorted(q.name for q in (here / "study" / "sub").iterdir()) == ["c.sbr"]  # nothing beside it


@pytest.mark.parametrize("inputs,said", [
    (["empty"], "error: empty: no recordings in this folder"),
    (["study/*.cwa"], "error: study/*.cwa: no recordings match this pattern"),
])
def test_inputs_without_a_recording_leave_no_results_folder_behind(here, inputs, said):
    """The study is searched with DIR locked, so DIR exists by then: a search that finds nothing (an
    empty folder, a pattern for the wrong extension) left a new DIR holding only the lock file. A DIR
    this run made goes again; one that was there stays."""
    (here / "empty").mkdir()
    before = tree(here)
    res = cli("cohort", *inputs, "--out", "results", "--workers", "1", cwd=here)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith(said) and len(res.stderr.splitlines()) == 1, res.stderr
    assert tree(here) == before  # no results/ and no lock file
    (here / "mine").mkdir()
    res = cli("cohort", *inputs, "--out", "mine", "--workers", "1", cwd=here)
    assert res.returncode == 2 and res.stderr.startswith(said), res.stderr
    assert (here / "mine").is_dir()
