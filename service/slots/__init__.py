"""The slots domain."""
