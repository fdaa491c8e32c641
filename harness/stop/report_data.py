"""Moved to :mod:`stopbox.harness.reporting.run_data` (reporting owns every report's data).

This re-export stays only while other modules still import the old place (stop/__init__.py,
commands/run.py, tests/unit/stop/test_engine.py); import from reporting in new code.
"""

from __future__ import annotations

from stopbox.harness.reporting.run_data import BYPASS, CATEGORIES, build_report, write_report

__all__ = ["CATEGORIES", "BYPASS", "build_report", "write_report"]
