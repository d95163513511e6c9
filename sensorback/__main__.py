"""`python -m sensorback`: the same command-line tool as `sensorback`."""

from .cli import main

if __name__ == "__main__":
    main()
