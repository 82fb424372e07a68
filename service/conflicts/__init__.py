"""The conflicts domain."""
