"""How loaders tell the user what they repaired or converted.

Loaders never print (the CLI does). Every repair or guess is recorded as one line of text
("day.sbr: dropped 12 trailing bytes of a partial record") so the CLI can show it verbatim; the
same lines are also raised as ``FormatWarning`` so library users in a notebook see them too.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (imported where used: samples imports this module)
    from ..samples import SampleBlock


#: What block.meta tells of one reading (its notes, the columns it did not read): never written into
#: a recording made from the block, whose reading would otherwise tell it again, untrue.
OF_THE_READING = ("notes", "unread_columns")


def warn_unread_columns(meta: dict, path) -> None:
    """One warning naming the columns of the CSV the samples were read from that a file written
    from them will not have (a temperature, a label): a conversion never drops data silently."""
    unread = meta.get("unread_columns")
    if unread:
        source = meta.get("source_file", "the file it was read from")
        warnings.warn(f"{path}: the columns {', '.join(map(repr, unread))} of {source} are not written "
                      "(sensorback reads only the time, acceleration and device columns)", FormatWarning,
                      stacklevel=3)


class FormatWarning(UserWarning):
    """A repair or conversion applied while reading a recording (never silent)."""


@dataclass
class LoadNotes:
    """Collects the user-facing notes of one load, each prefixed with the file name."""

    path: str

    def __post_init__(self) -> None:
        self.path = str(self.path)
    messages: list[str] = field(default_factory=list)

    def add(self, message: str, at: int | None = None) -> None:
        """at: the note's place among the others (a reader that finds out late about something it
        read first, such as a truncated gzip stream, still tells it first)."""
        # Same "file: message" shape as InputError, with the path as the user gave it.
        line = f"{self.path}: {message}"
        if at is None:
            self.messages.append(line)
        else:
            self.messages.insert(at, line)

    def emit(self, stacklevel: int = 3) -> list[str]:
        """Warn once per note and return the notes (for ``block.meta["notes"]``)."""
        for m in self.messages:
            warnings.warn(m, FormatWarning, stacklevel=stacklevel)
        return list(self.messages)


def concat_with_notes(parts: list) -> SampleBlock:
    """Chunks of one recording as one SampleBlock, the notes of every chunk kept in order."""
    from ..samples import SampleBlock

    whole = SampleBlock.concat(parts)
    notes = [n for p in parts for n in p.meta.get("notes", [])]
    whole.meta.pop("notes", None)
    if notes:
        whole.meta["notes"] = notes
    return whole
