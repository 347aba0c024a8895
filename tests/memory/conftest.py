"""The memory tests' fixtures (tests/support/memory_fixtures.py)."""

from tests.support.memory_fixtures import (  # noqa: F401
    data_dir,
    e5,
    fake,
    make_store,
    open_memory,
    pytest_generate_tests,
    real_embedder,
    store_backend,
    use_embedder,
)
