"""Figures for the creator: the ledger, daily rollups, stats (pandas), the dashboard, charts
and counters."""
