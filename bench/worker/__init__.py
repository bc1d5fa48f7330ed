"""One measured step, in its own process: ``python -m bench.worker TASK '{json args}'``.

The harness (``bench/run.py``) starts one process per step so that each step's peak memory is its
own. The process prints ``RESULT {json}`` as its last line. Tasks, one module each:

    ingest        landing files → raw tables through the platform, with the breakdown of the
                  step over the loader's functions (``ingest.py``, ``breakdown.py``)
    ingest_floor  the same files into a native DuckDB file, one CREATE TABLE AS per table
    build         ``run_everything`` (every asset once) on the instance in DAGSTER_HOME
    build_floor   the compiled SQL of that dbt run, in its order, in one DuckDB connection
    refresh       one more day of files, handled as the running platform does (incremental)

``records.py`` reads what a run left behind (Dagster step stats, dbt's run_results.json).
"""
