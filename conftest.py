"""What every test process shares, set before any test module is imported."""

import pytest
from strangler_shared import use_stable_conventions


def pytest_configure(config: pytest.Config) -> None:
    """Run the official instrumentations with the semantic conventions the services use.

    They read them once per process, at the first instrumentation: without this, a test that
    instruments before any other calls ``setup_tracing`` would fix the deprecated ones for every
    test after it.
    """
    use_stable_conventions()
