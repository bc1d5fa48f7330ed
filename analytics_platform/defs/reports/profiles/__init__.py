"""Any dataset → profile → insights → dashboard.

Every uncontracted dataset (a landing folder no source contract describes) gets, per partition of
``uncontracted_datasets``: a profile computed in DuckDB (``profile.py``), plain-language insights
computed from it (``insights.py``), a self-contained plotly dashboard (``dashboard.py``) and a
suggested source contract (``contract_suggestion.py``) the user can adopt by copying one file.
"""
