"""The memory tests' fixtures (tests/support/memory_fixtures.py), shared here."""

from tests.support.memory_fixtures import data_dir, fake, open_memory  # noqa: F401
