"""The map has no tables of its own: it reads the requests, slots and conflicts domains."""
