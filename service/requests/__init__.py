"""Site requests: what authorities, operators and utilities submit."""
