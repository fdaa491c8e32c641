"""Seed improver, meta-utility and tasks shipped with stopbox (package data: ``stopbox.seeds``)."""
