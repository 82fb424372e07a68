"""The notices domain."""
