"""Renderers: pure functions of a report (and options) returning text or a rich renderable."""
