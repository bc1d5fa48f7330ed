"""Dashboards: single-file HTML reports (plotly, offline) and on-demand exports of the marts."""
