"""ORM models of this domain."""
