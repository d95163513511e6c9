"""The exercise library: short back-friendly exercises, looked up by name and suggested by prompts.

The data lives in ``exercise_data.py``; this module checks it once at import, turns it into
:class:`Exercise` objects and answers three questions:

- ``get(name)``: which exercise does the user mean? (forgiving about case, spaces, apostrophes,
  plurals and unique partial names; otherwise a one-line error: the exercises an ambiguous partial
  name matches, or the close matches of an unknown one)
- ``suggest(previous)``: which exercise should the next break prompt suggest? (see PROMPT_POOL:
  only exercises done on your feet)
- ``format_exercise`` / ``format_list``: plain-text output for the command line.

Every exercise's caution ends with the same rule: stop at sharp pain.
"""

from __future__ import annotations

import difflib
import re
import textwrap
from dataclasses import dataclass

from ..errors import SensorbackError
from .exercise_data import EXERCISES as _DATA

PLACES: tuple[str, ...] = ("desk", "standing", "floor")
LEVELS: tuple[str, ...] = ("beginner", "intermediate")
KINDS: tuple[str, ...] = ("mobility", "stretch", "strength")
GENERAL_CAUTION = ("Stop straight away at any sharp or shooting pain, and get advice from a health "
                   "professional if pain lasts, spreads into a leg or comes with numbness.")
#: The rule in short, wherever exercise is suggested (the report, 'log', the monitor's first prompt).
SHARP_PAIN = "Stop any exercise that causes sharp pain."
ON_YOUR_FEET = "standing"  # the place of exercises done on your feet (see Exercise.on_your_feet)
PLACE_WORDS = {"desk": "at the desk", "standing": "standing", "floor": "on the floor"}


@dataclass(frozen=True)
class Exercise:
    key: str
    name: str
    summary: str
    kind: str
    places: tuple[str, ...]
    level: str
    reps: int | None
    hold_s: int | None
    per_side: bool
    steps: tuple[str, ...]
    caution_specific: str

    @property
    def caution(self) -> str:
        """This exercise's own caution followed by the general stop-at-sharp-pain rule."""
        return f"{self.caution_specific} {GENERAL_CAUTION}"

    @property
    def dose(self) -> str:
        """How much: '10 times', 'hold about 30 s', '3 times, holding 20 s each time', '... on each side'."""
        if self.reps and self.hold_s:
            text = f"{self.reps} times, holding {self.hold_s} s each time"
        elif self.reps:
            text = f"{self.reps} times"
        else:
            text = f"hold about {self.hold_s} s"
        return text + (" on each side" if self.per_side else "")

    @property
    def on_your_feet(self) -> bool:
        """Done standing or moving (it can end a stretch of sitting): the test break prompts use."""
        return ON_YOUR_FEET in self.places

    @property
    def where(self) -> str:
        return ", ".join(PLACE_WORDS[p] for p in self.places)

    def to_dict(self) -> dict:
        return {
            "key": self.key, "name": self.name, "summary": self.summary, "kind": self.kind,
            "places": list(self.places), "level": self.level, "reps": self.reps, "hold_s": self.hold_s,
            "per_side": self.per_side, "dose": self.dose, "steps": list(self.steps), "caution": self.caution,
        }


def _build(entry: dict) -> Exercise:
    key = entry["key"]
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", key), key
    assert entry["places"] and set(entry["places"]) <= set(PLACES), key
    assert entry["level"] in LEVELS and entry["kind"] in KINDS, key
    assert entry["reps"] or entry["hold_s"], key
    assert entry["steps"] and entry["caution"], key
    return Exercise(
        key=key, name=entry["name"], summary=entry["summary"], kind=entry["kind"],
        places=tuple(entry["places"]), level=entry["level"], reps=entry["reps"], hold_s=entry["hold_s"],
        per_side=bool(entry["per_side"]), steps=tuple(entry["steps"]), caution_specific=entry["caution"],
    )


EXERCISES: tuple[Exercise, ...] = tuple(_build(e) for e in _DATA)
BY_KEY: dict[str, Exercise] = {e.key: e for e in EXERCISES}
assert len(BY_KEY) == len(EXERCISES), "duplicate exercise keys"


def _prompt_rank(e: Exercise) -> int:
    return 0 if "desk" in e.places else 1


PROMPT_POOL: tuple[Exercise, ...] = tuple(sorted((e for e in EXERCISES if e.on_your_feet), key=_prompt_rank))
"""What break prompts suggest, in rotation order: only exercises done on your feet.

A break prompt is about ending a stretch of sitting, so it only suggests exercises done standing or
moving (``Exercise.on_your_feet``): a seated exercise would not break the sitting. Those that can be
done right by the desk come first, then standing ones that need a little room. Seated exercises
(seated forward bend, pelvic tilts) and floor exercises stay in the library for
``sensorback exercises`` but are never suggested by a prompt. Within each group the library order
is kept.
"""


def suggest(previous: str | None) -> Exercise:
    """The exercise for the next break prompt: the one after ``previous`` in PROMPT_POOL, wrapping
    around; the first one when there is no previous suggestion (or it is not in the pool).

    Deterministic, rotates through the whole pool, and never repeats the previous suggestion.
    """
    keys = [e.key for e in PROMPT_POOL]
    if previous not in keys:
        return PROMPT_POOL[0]
    return PROMPT_POOL[(keys.index(previous) + 1) % len(keys)]


def how_to(e: Exercise) -> str:
    """Said with the first break prompt of a live session: the prompt only names the exercise, so
    where its steps are, and the rule to stop at sharp pain."""
    return f"how to do {e.name.lower()}: 'sensorback exercises show {e.key}'. {SHARP_PAIN}"


def by_key(key: str | None) -> Exercise | None:
    """The exercise with exactly this key (as events store it), or None."""
    return _BY_KEY.get(key or "")


_BY_KEY = {e.key: e for e in EXERCISES}


def _norm(text: str) -> str:
    text = text.lower().replace("'", "").replace("\u2019", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def find(name: str) -> Exercise | None:
    """The exercise a user means by name, or None (also None when a partial name is ambiguous)."""
    n = _norm(name)
    if not n:
        return None
    for e in EXERCISES:
        forms = {e.key, _norm(e.name)}
        if n in forms or n + "s" in forms or any(f + "s" == n for f in forms):
            return e
    partial = [e for e in EXERCISES if n in e.key]
    return partial[0] if len(partial) == 1 else None


#: How many of the exercises an ambiguous part of a name matches are named in its error.
AMBIGUOUS_SHOWN = 5


def _ambiguous(name: str, n: str) -> str | None:
    """The error for a part of a name that is in several keys (the partial match of find()), or None.

    The keys that start with it come first, then those with a word starting with it, then the rest,
    each in library order; the first AMBIGUOUS_SHOWN are named and the others counted."""
    partial = [e.key for e in EXERCISES if n and n in e.key]
    if len(partial) < 2:
        return None
    ranked = sorted(partial, key=lambda k: (not k.startswith(n), not any(w.startswith(n) for w in k.split("-"))))
    shown = ", ".join(ranked[:AMBIGUOUS_SHOWN])
    more = f" and {len(ranked) - AMBIGUOUS_SHOWN} more" if len(ranked) > AMBIGUOUS_SHOWN else ""
    return (f"exercise name '{name}' is ambiguous: it matches {len(ranked)} exercises ({shown}{more}); "
            "type more of the name")


def get(name: str) -> Exercise:
    """Like find(), but a name that is no exercise is a one-line SensorbackError: an ambiguous part of
    a name lists the exercises it matches, an unknown name the close matches."""
    found = find(name)
    if found is not None:
        return found
    n = _norm(name)
    ambiguous = _ambiguous(name, n)
    if ambiguous is not None:
        raise SensorbackError(ambiguous)
    keys = [e.key for e in EXERCISES]
    close = difflib.get_close_matches(n, keys, n=3, cutoff=0.5)  # no key holds n: find() or _ambiguous
    if not close:  # a word of a multi-word name, misspelt: 'hamstrng' -> standing-hamstring-stretch
        words = {w: k for k in keys for w in k.split("-") if len(w) > 3}
        close = sorted({words[w] for w in difflib.get_close_matches(n, list(words), n=3, cutoff=0.7)})
    if close:
        raise SensorbackError(f"unknown exercise '{name}'; did you mean: {', '.join(close)}?")
    raise SensorbackError(f"unknown exercise '{name}'; choose one of: {', '.join(keys)}")


def format_list(exercises=EXERCISES, width: int = 100) -> str:
    """Per exercise: key, level, how much and where on one line, its summary indented below."""
    if not exercises:
        return "(no exercises)"
    key_w = max(len(e.key) for e in exercises)
    indent = " " * (key_w + 2)
    lines = []
    for e in exercises:
        lines.append(f"{e.key:<{key_w}}  {e.level:<12}  {e.dose}; {e.where}")
        lines += textwrap.wrap(e.summary, width=width, initial_indent=indent, subsequent_indent=indent)
    return "\n".join(lines)


def format_exercise(e: Exercise, width: int = 88) -> str:
    """The whole card: name, summary, what/where/how much, numbered steps and the caution."""

    def wrap(text: str, first: str, rest: str) -> list[str]:
        return textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=rest) or [first]

    lines = [e.name, "=" * len(e.name)]
    lines += wrap(e.summary, "", "")
    lines.append("")
    lines.append(f"Type:   {e.kind} ({e.level})")
    lines.append(f"Where:  {e.where}")
    lines.append(f"Dose:   {e.dose}")
    lines.append("")
    lines.append("How:")
    for i, step in enumerate(e.steps, start=1):
        lines += wrap(step, f"  {i}. ", "     ")
    lines.append("")
    lines += wrap(e.caution, "Careful: ", "         ")
    return "\n".join(lines)
