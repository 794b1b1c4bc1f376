"""Evaluation: quality and cost metrics, baselines, error analysis, reports and plots."""
