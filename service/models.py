"""Every ORM model, imported so that Alembic sees the whole metadata."""

from service.domains import modules
from service.kit.db import Base

modules("models")
metadata = Base.metadata
