"""The memory tests' fixtures (tests/support/memory_fixtures.py)."""

from tests.support.memory_fixtures import data_dir, e5, fake, open_memory  # noqa: F401
