"""Evaluation: downstream tasks, baselines, retrieval, tagging and zero-shot figures."""
