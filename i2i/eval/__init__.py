"""Evaluation: metrics over a split's outputs, and their reports."""
