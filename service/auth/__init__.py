"""Organisations, API keys and roles."""
