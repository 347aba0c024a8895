"""The memory tests' fixtures (tests/support/memory_fixtures.py)."""

from tests.support.memory_fixtures import (  # noqa: F401
    data_dir,
    e5,
    fake,
    open_memory,
    real_embedder,
    use_embedder,
)
