import pytest


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    # these tests check what the code generator writes now, not a module cached by an older one
    monkeypatch.setenv("EMBER_COMPILE_CACHE", "0")
