"""The memory tests' fixtures (tests/support/memory_fixtures.py), shared here."""

from tests.support.memory_fixtures import (  # noqa: F401
    data_dir,
    fake,
    make_store,
    open_memory,
    store_backend,
)
