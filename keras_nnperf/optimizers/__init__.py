"""Optimizer wrappers (adaptive clipping) and in-graph gradient hooks."""
