"""The workflow domain."""
