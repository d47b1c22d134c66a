"""Celery tasks: thin wrappers that call one service each."""
