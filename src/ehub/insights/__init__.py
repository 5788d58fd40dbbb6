"""Insights: read models and dashboards."""
