"""The coach's rules behind one interface: what they declare reaches the settings, the event kinds
and everything that presents them; a rule added to a Coach runs beside the others without changing
what they say."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from sensorback.coach import RULES, Coach, CoachEvent, CoachSettings, EventKind, run_coach
from sensorback.coach.rule import GAP, Rule
from sensorback.coach.rules import KINDS, MARKS, PRINTED, SHOWN_TALLIES, TALLIES, kind
from sensorback.coach.text import event_text, notification_title
from sensorback.core.epochs import EpochTable
from sensorback.core.states import CODE, LYING
from sensorback.replay import PRINTED_KINDS
from sensorback.report.compute import COUNTED_AS, Numbers


def table(*spec, start: float = 0.0) -> EpochTable:
    codes = []
    for name, seconds in spec:
        codes += [CODE[name]] * int(seconds)
    n = len(codes)
    t = start + np.arange(n, dtype=np.float64)
    z = np.zeros(n, np.float32)
    return EpochTable(t, t + 1.0, np.array(codes, np.int8), z, z, z, z, z)


def test_the_rules_declarations_are_the_settings_and_the_kinds():
    declared = [name for rule in RULES for name in rule.settings] + [rule.switch[0] for rule in RULES]
    assert [f.name for f in fields(CoachSettings)] == declared
    assert all(f.metadata["help"] for f in fields(CoachSettings))
    names = [k.name for rule in RULES for k in rule.kinds]
    assert len(names) == len(set(names)) and KINDS == tuple(names)
    assert set(KINDS) == {"break_prompt", "prompt_outcome", "break_verified", "slouch_nudge", "snoozed"}
    # what the rest of sensorback knows of them comes from the declarations
    assert PRINTED_KINDS == PRINTED and "break_verified" not in PRINTED
    assert TALLIES == {"break_prompt": "prompts", "snoozed": "snoozes", "slouch_nudge": "nudges"}
    assert SHOWN_TALLIES == ("prompts", "nudges")
    assert MARKS == {"break_prompt": "prompt", "slouch_nudge": "nudge"}
    assert all(COUNTED_AS[k] == t for k, t in TALLIES.items())
    assert set(Numbers().counts) == {"prompts", "nudges", "snoozes"}
    prompt = CoachEvent(1800.0, "break_prompt", "...", sitting_s=1800.0, exercise="torso-twists")
    assert notification_title(prompt) == "Time for a break"
    assert event_text(prompt) == kind("break_prompt").text(prompt)
    assert event_text(CoachEvent(5.0, "calibration", "new upright")) == "calibration: new upright"


class LyingTooLong(Rule):
    """A rule of the kind that may come next: says so once after 10 min of lying in a row."""

    kinds = (EventKind("lying_long", lambda e: "lying for a while", tally="lying alerts"),)

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.run_s = 0.0
        self.said = False
        self.seen: list[int] = []

    def step(self, a, b, state, out) -> None:
        self.seen.append(state)
        if state == LYING:
            self.run_s += b - a
            if self.run_s >= 600 and not self.said:
                self.said = True
                out.append(CoachEvent(b, "lying_long", "Lying for 10 min."))
        elif state != GAP:
            self.run_s, self.said = 0.0, False

    def status(self, t):
        return {"lying_run_s": self.run_s}


def test_a_new_rule_runs_beside_the_others_without_changing_them():
    tab = EpochTable.concat([table(("sitting", 2000), ("lying", 700)), table(("sitting", 400), start=3000)])
    alone = run_coach(tab)
    coach = Coach(rules=RULES + (LyingTooLong,))
    both = coach.update(tab) + coach.finish()
    assert [e for e in both if e.kind != "lying_long"] == alone
    mine = [e for e in both if e.kind == "lying_long"]
    assert [e.t for e in mine] == [2600.0]
    # it saw every epoch, and the hole between the two tables as one GAP step
    rule = coach.rules[-1]
    assert len(rule.seen) == 2000 + 700 + 1 + 400 and rule.seen.count(GAP) == 1
    plain = Coach()
    plain.update(tab)
    plain.finish()
    status, want = coach.status(), plain.status()
    assert status.extra == {"lying_run_s": 0.0} and want.extra == {}
    mine_d, want_d = status.to_dict(), want.to_dict()
    mine_d["last_events"] = [e for e in mine_d["last_events"] if e["kind"] != "lying_long"]
    want_d["last_events"] = want_d["last_events"][-len(mine_d["last_events"]):]
    assert mine_d == {**want_d, "extra": {"lying_run_s": 0.0}}
