"""Small shared building blocks: database sessions, problem details, pagination, GeoJSON helpers."""
