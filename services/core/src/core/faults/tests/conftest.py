"""The faults app's tests read the flags from the database, as a worker does."""

from collections.abc import Iterator

import pytest

from core.faults.services import assume_no_faults, forget_cached_flags


@pytest.fixture(autouse=True)
def no_faults() -> Iterator[None]:
    """Read the flags from the database; leave the next test none cached."""
    forget_cached_flags()
    yield
    assume_no_faults()
