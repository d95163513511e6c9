"""Red flags in pain check-ins: every combination of answers, urgent first, and pain persisting for
weeks. Also: the messages stay short, calm, diagnosis-free and in sensorback's own words."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, timezone

import pytest

from sensorback.report import redflags
from sensorback.report.redflags import (FLAG_ORDER, HIGH_PAIN, LEVELS, assess, checkin_flags,
                                        persistent_high_pain, sort_flags, suggests_exercise)
from conftest import SHARED

ANSWERS = ("radiating", "numbness", "fever", "bladder", "weight_loss")
T0 = datetime(2024, 3, 1, 20, 0, tzinfo=timezone.utc)
SEED_ARTICLE = SHARED / "seed" / "lower-back-exercises-article.txt"


def expected_keys(score: int, answers: dict) -> list[str]:
    keys = [k for k in ("bladder", "fever", "weight_loss") if answers.get(k)]
    if answers.get("radiating") or answers.get("numbness"):
        keys.append("leg")
    if score >= 6:
        keys.append("high_pain")
    return keys


@pytest.mark.parametrize("score", [0, 3, 5, 6, 7, 10])
@pytest.mark.parametrize("combo", list(itertools.product([False, True], repeat=len(ANSWERS))))
def test_every_combination_urgent_first(score, combo):
    answers = dict(zip(ANSWERS, combo))
    flags = checkin_flags(score, **answers)
    assert [f.key for f in flags] == expected_keys(score, answers)
    levels = [LEVELS.index(f.level) for f in flags]
    assert levels == sorted(levels), "most urgent first"
    assert (flags[0].urgent if flags else False) == answers["bladder"]
    assert sum(f.urgent for f in flags) == int(answers["bladder"])
    assert sort_flags(flags) == flags
    assert suggests_exercise(flags) == (not any(answers[k] for k in ANSWERS))


def test_levels_and_words_of_each_flag():
    only = {k: checkin_flags(0, **{k: True}) for k in ANSWERS}
    (bladder,) = only["bladder"]
    assert bladder.level == "urgent" and bladder.message.startswith("URGENT")
    assert "now" in bladder.message and "bladder or bowels" in bladder.message
    assert only["fever"][0].level == "soon" and "Fever or chills" in only["fever"][0].message
    assert only["weight_loss"][0].level == "soon" and "weight" in only["weight_loss"][0].message
    assert only["radiating"][0].key == "leg" and "shooting down a leg" in only["radiating"][0].message
    assert only["numbness"][0].key == "leg" and "Numbness" in only["numbness"][0].message
    (both,) = checkin_flags(2, radiating=True, numbness=True)
    assert "shooting down a leg" in both.message and "numbness" in both.message
    (high,) = checkin_flags(7)
    assert high.level == "advice" and high.message.startswith("7/10")
    assert checkin_flags(HIGH_PAIN - 1) == [] and checkin_flags(HIGH_PAIN)[0].key == "high_pain"
    # None (not asked) is not a yes
    assert checkin_flags(2, radiating=None, numbness=None, fever=None, bladder=None, weight_loss=None) == []


def series(*pairs):
    """(days after T0, score) pairs -> (datetime, score)."""
    return [(T0 + timedelta(days=d), s) for d, s in pairs]


@pytest.mark.parametrize("pairs, weeks", [
    (((0, 6), (7, 7), (14, 6), (21, 8), (28, 6)), 4),        # weekly, 4 weeks at 6+
    (((0, 7), (28, 7)), 4),                                  # sparse: nothing in between said otherwise
    (((0, 6), (10, 9), (20, 6), (35, 7), (42, 6)), 6),       # 6 weeks
    (((0, 2), (3, 6), (17, 7), (31, 6)), 4),                 # an older low score before the run
])
def test_persistent_high_pain(pairs, weeks):
    flag = persistent_high_pain(series(*pairs))
    assert flag is not None and flag.key == "persistent" and flag.level == "advice"
    assert f"about {weeks} weeks" in flag.message
    assert "see a doctor or physiotherapist" in flag.message


@pytest.mark.parametrize("pairs", [
    (),
    ((0, 9),),
    ((0, 6), (27, 6)),                                       # 27 days: not yet 4 weeks
    ((0, 6), (14, 5), (28, 6)),                              # one 5/10 in between resets the run
    ((0, 6), (28, 7), (30, 4)),                              # the latest check-in is lower
    ((0, 5), (28, 5)),                                       # below 6 all along
])
def test_no_persistence(pairs):
    assert persistent_high_pain(series(*pairs)) is None


def test_persistence_ignores_input_order_and_assess_puts_it_after_urgent():
    pairs = series((28, 7), (0, 6), (14, 6))
    assert persistent_high_pain(pairs) is not None
    flags = assess(7, pairs, bladder=True, radiating=True)
    assert [f.key for f in flags] == ["bladder", "leg", "high_pain", "persistent"]
    assert flags[0].urgent
    assert [f.key for f in assess(3, series((0, 3)))] == []
    assert not suggests_exercise(flags)
    assert suggests_exercise(assess(7, pairs))   # only advice: gentle exercise may still be suggested


def test_sort_flags_keeps_one_per_key_in_order():
    flags = checkin_flags(8, radiating=True) + checkin_flags(6, fever=True) + checkin_flags(1, bladder=True)
    assert [f.key for f in sort_flags(flags)] == ["bladder", "fever", "leg", "high_pain"]
    assert all(f.key in FLAG_ORDER for f in flags)


# ----------------------------------------------------------------------------------- wording

def all_messages() -> list[str]:
    msgs = [f.message for combo in itertools.product([False, True], repeat=5)
            for f in checkin_flags(7, **dict(zip(ANSWERS, combo)))]
    msgs.append(persistent_high_pain(series((0, 6), (30, 6))).message)
    msgs += [redflags.SHARP_PAIN, redflags.NOT_A_DIAGNOSIS]
    return sorted(set(msgs))


def test_messages_are_short_and_do_not_diagnose():
    for m in all_messages():
        assert len(m) <= 220, m
        assert m.count(". ") <= 2, m
        low = m.lower()
        for word in ("sciatica", "infection", "cauda", "compression", "cancer", "tumour", "tumor", "you have a",
                     "herniat", "disc"):
            assert word not in low, (word, m)
    assert redflags.SHARP_PAIN == "Stop any exercise that causes sharp pain."


def shingles(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


@pytest.mark.skipif(not SEED_ARTICLE.exists(), reason="the source article is not on this machine")
def test_messages_are_in_our_own_words():
    article = shingles(SEED_ARTICLE.read_text(encoding="utf-8"))
    for m in all_messages():
        common = shingles(m) & article
        assert not common, (m, common)


def test_the_answers_a_checkin_said_yes_to_read_the_same_everywhere():
    """One wording for the yes answers beside a check-in: the report (text and HTML) and
    `log pain` (its answers as given) list them in the questions' order, in words."""
    from types import SimpleNamespace

    from sensorback.report.redflags import ANSWERS, answered_yes

    given = dict(radiating=False, numbness=True, fever=False, bladder=False, weight_loss=True)
    assert answered_yes(given) == ["numbness", "weight loss"]
    assert answered_yes(SimpleNamespace(**given)) == answered_yes(given)
    assert answered_yes(dict.fromkeys(ANSWERS, False)) == []
