"""The map domain."""
