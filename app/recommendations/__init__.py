"""Recommendations: the engine (numpy, no Flask, no database), building stored lists, and
lookups for pages."""
