"""The feeds domain."""
