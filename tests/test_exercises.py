"""The exercise library and 'sensorback exercises'."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from sensorback.cli import app
from sensorback.coach import exercises as lib
from sensorback.errors import SensorbackError
from cli_checks import one_line_error
from conftest import SHARED

ARTICLE = SHARED / "seed" / "lower-back-exercises-article.txt"
REQUIRED = {
    "cat-cow", "childs-pose", "knee-to-chest", "seated-forward-bend", "pelvic-tilts", "torso-twists", "bridges",
    "dead-bugs", "plank", "hip-flexor-stretch", "standing-hamstring-stretch", "pigeon-pose", "leg-swings",
}
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


# ------------------------------------------------------------------------------------ library


def test_library_has_every_exercise_with_all_fields():
    assert {e.key for e in lib.EXERCISES} == REQUIRED
    for e in lib.EXERCISES:
        assert e.name and e.summary and len(e.steps) >= 3
        assert e.places and set(e.places) <= {"desk", "standing", "floor"}
        assert e.level in ("beginner", "intermediate") and e.kind in ("mobility", "stretch", "strength")
        assert e.reps or e.hold_s
        assert re.search(r"\d", e.dose)
        assert "sharp" in e.caution and "pain" in e.caution
        assert e.caution.startswith(e.caution_specific)
        d = e.to_dict()
        assert d["caution"] == e.caution and d["steps"] == list(e.steps)


def test_each_place_is_covered():
    for place in ("desk", "standing", "floor"):
        assert sum(place in e.places for e in lib.EXERCISES) >= 3


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("\u2019", "'").replace("'", ""))


@pytest.mark.skipif(not ARTICLE.exists(), reason="the seed article is not available")
def test_written_in_our_own_words():
    """No run of 6 words from the article appears in the library's text."""
    art = _words(ARTICLE.read_text(encoding="utf-8"))
    grams = {tuple(art[i:i + 6]) for i in range(len(art) - 5)}
    for e in lib.EXERCISES:
        ours = _words(" ".join([e.summary, *e.steps, e.caution]))
        copied = [" ".join(ours[i:i + 6]) for i in range(len(ours) - 5) if tuple(ours[i:i + 6]) in grams]
        assert not copied, (e.key, copied)


@pytest.mark.parametrize("name,key", [
    ("cat-cow", "cat-cow"), ("Cat Cow", "cat-cow"), ("child's pose", "childs-pose"),
    ("Child\u2019s Pose", "childs-pose"), ("childs", "childs-pose"), ("bridge", "bridges"),
    ("dead bug", "dead-bugs"), ("PELVIC TILT", "pelvic-tilts"), ("hamstring", "standing-hamstring-stretch"),
    ("pigeon", "pigeon-pose"), ("  plank ", "plank"), ("knee to chest", "knee-to-chest"),
])
def test_forgiving_names(name, key):
    assert lib.get(name).key == key


def test_unknown_names_are_one_line_errors_with_close_matches():
    with pytest.raises(SensorbackError, match=r"unknown exercise 'cat cwo'; did you mean: cat-cow\?"):
        lib.get("cat cwo")
    with pytest.raises(SensorbackError, match=r"^exercise name 'stretch' is ambiguous: it matches 2 exercises "
                       r"\(hip-flexor-stretch, standing-hamstring-stretch\); type more of the name$"):
        lib.get("stretch")  # part of two names
    with pytest.raises(SensorbackError, match="standing-hamstring-stretch"):
        lib.get("hamstrng")
    with pytest.raises(SensorbackError, match="choose one of: cat-cow, childs-pose"):
        lib.get("zzzz")
    assert lib.find("") is None


def test_an_ambiguous_part_names_the_first_matches_those_it_starts_first():
    """'s' is part of 11 keys: it was 'unknown exercise', as if no exercise had it."""
    with pytest.raises(SensorbackError) as info:
        lib.get("s")
    assert str(info.value) == (
        "exercise name 's' is ambiguous: it matches 11 exercises (seated-forward-bend, "
        "standing-hamstring-stretch, hip-flexor-stretch, leg-swings, childs-pose and 6 more); "
        "type more of the name")
    assert sum("s" in e.key for e in lib.EXERCISES) == 11
    with pytest.raises(SensorbackError, match=r"'Pose' is ambiguous: it matches 2 exercises \(childs-pose, pigeon-pose\)"):
        lib.get("Pose")
    assert lib.get("pigeon").key == "pigeon-pose"  # a part only one has is still enough


def test_prompt_pool_is_only_exercises_done_on_your_feet_by_the_desk_first():
    pool = lib.PROMPT_POOL
    assert len(pool) >= 4
    assert all(e.on_your_feet and "standing" in e.places for e in pool)
    assert {e.key for e in pool} == {e.key for e in lib.EXERCISES if "standing" in e.places}
    assert not {"seated-forward-bend", "pelvic-tilts"} & {e.key for e in pool}  # seated: no break from sitting
    ranks = [0 if "desk" in e.places else 1 for e in pool]
    assert ranks == sorted(ranks) and ranks[0] == 0


def test_suggest_rotates_deterministically_without_repeats():
    seq, prev = [], None
    for _ in range(3 * len(lib.PROMPT_POOL)):
        prev = lib.suggest(prev).key
        seq.append(prev)
    assert seq[: len(lib.PROMPT_POOL)] == [e.key for e in lib.PROMPT_POOL]
    assert seq == seq[: len(lib.PROMPT_POOL)] * 3
    assert all(a != b for a, b in zip(seq, seq[1:]))
    assert lib.suggest(None) == lib.suggest("plank") == lib.PROMPT_POOL[0]  # not in the pool: start over


def test_format_exercise_is_plain_text():
    text = lib.format_exercise(lib.get("plank"))
    lines = text.splitlines()
    assert lines[0] == "Plank" and set(lines[1]) == {"="}
    assert "Dose:   3 times, holding 20 s each time" in text
    assert "  1. " in text and "Careful: " in text
    assert max(map(len, lines)) <= 88


# ------------------------------------------------------------------------------------ CLI


def test_cli_exercises_lists_all_by_default():
    for args in (("exercises",), ("exercises", "list")):
        r = run(*args)
        assert r.exit_code == 0, r.output
        for key in REQUIRED:
            assert re.search(rf"^{re.escape(key)}\s", r.stdout, re.M), key
        assert "sharp pain" in r.stdout


def test_cli_exercises_list_where_and_json():
    r = run("exercises", "list", "--where", "desk", "--json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data and all("desk" in d["places"] for d in data)
    assert {d["key"] for d in data} < REQUIRED
    one_line_error(run("exercises", "list", "--where", "garden"), "--where", "desk, standing, floor")


def test_cli_exercises_show():
    r = run("exercises", "show", "child's pose")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("Child's pose\n")
    assert "How:" in r.stdout and "Careful:" in r.stdout
    r = run("exercises", "show", "leg-swings", "--json")
    assert json.loads(r.stdout)["key"] == "leg-swings"


def test_cli_exercises_show_unknown_name():
    one_line_error(run("exercises", "show", "pigeonpsoe"), "unknown exercise 'pigeonpsoe'", "pigeon-pose")
    one_line_error(run("exercises", "show", "yoga"), "choose one of:", "cat-cow")
    one_line_error(run("exercises", "show", "pose"), "exercise name 'pose' is ambiguous", "childs-pose, pigeon-pose")


def test_cli_help_lists_the_new_commands_with_examples():
    r = run("--help")
    assert "exercises" in r.stdout and "config" in r.stdout
    for group in ("exercises", "config"):
        r = run(group, "--help")
        assert r.exit_code == 0
        assert f"sensorback {group} " in r.stdout.split("Examples:")[1]
