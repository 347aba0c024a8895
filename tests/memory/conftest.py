"""Fixtures for the memory engine tests (defined in tests/support/memory_fixtures.py; the fakes
they use are in tests/support/memory_fakes.py)."""

from tests.support.memory_fixtures import data_dir, e5, fake, open_memory  # noqa: F401
