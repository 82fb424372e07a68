"""Fixtures of the slots tests: a session factory on the test's connection, for ``run_plan``."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import sessionmaker


@pytest.fixture
def factory(connection):  # noqa: ANN001, ANN201
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
