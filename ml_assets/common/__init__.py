"""What every ML asset family shares: input views, the ``ml`` schema writer, asset conventions.

``conventions.py`` (group, owner, pool, upstream asset keys, the warehouse session with the input
views), ``metadata.py`` (table metadata, markdown tables, the short-history skip), ``inputs.py``
(the canonical input relations), ``store.py`` (writes to ``lake.ml``), ``history.py``
(``NotEnoughHistory``), ``plots.py`` (PNG charts for MLflow and the asset pages).
"""
