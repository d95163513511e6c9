"""Many recordings at once: per-day exposures of every file of a study, on Dask.

    exposures.day_rows(table, ...)   pure: one row of exposures per calendar day of an EpochTable
    task.analyze_file(path, ...)     one file -> its file row and day rows (runs on a Dask worker)
    run.run_cohort(...)              discover, resume, submit, collect, write DIR/days.parquet etc.
    folder.written_over(dir)         what a run would replace in DIR that cohort did not write (refused)
    folder.held_by_this_run(dir)     one run per DIR: an OS lock a second run is refused by

Only run.py imports dask and pyarrow, and only when a run starts.
"""
