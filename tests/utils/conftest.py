import pytest

from tests.utils.leakcheck import no_leaks  # noqa: F401  (autouse)


def pytest_configure(config):
    config.addinivalue_line("markers", "hard_timeout(seconds): fail the test after this long")
