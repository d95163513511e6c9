"""Which file names are recordings: the one list behind reading them (sensorback.formats), the
help that names them (cohort, ...) and the CLI's file-name checks.

Standard library only, so ``--help`` can show the list without loading NumPy.
"""

from __future__ import annotations

NATIVE_EXT = (".sbr",)
CSV_EXT = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz")
#: Research loggers' files, read only, and the reader each one needs.
DEVICE_EXT = {".cwa": "cwa", ".cwa.gz": "cwa", ".gt3x": "gt3x"}
#: Every extension a recording may have, in the order help texts list them.
EXTENSIONS = NATIVE_EXT + CSV_EXT + tuple(DEVICE_EXT)
