"""Write a new migration after changing sensorback/store/models.py (from a source checkout):

    python -m sensorback.store.migrations "add a column for ..."

Autogenerates the revision by comparing the models with a scratch SQLite database upgraded to
the current head. Review the script it writes (and test on PostgreSQL: tests/test_store_schema.py).
"""

import sys
import tempfile
from pathlib import Path

from alembic import command

from sensorback.store.db import describe, make_engine
from sensorback.store.migrate import alembic_config, script_directory, upgrade


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__.strip())
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    with tempfile.TemporaryDirectory() as tmp:
        target = describe("sqlite:///" + str(Path(tmp) / "scratch.db"))
        engine = make_engine(target)
        upgrade(engine, target.name)
        with engine.begin() as conn:
            number = len(list(script_directory().walk_revisions())) + 1
            command.revision(alembic_config(conn), message=argv[0], autogenerate=True, rev_id=f"{number:04d}")
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
