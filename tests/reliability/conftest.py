"""The memory tests' fixtures (``open_memory``, ``data_dir``, ``fake``), shared here."""

from tests.support.memory_fixtures import data_dir, fake, open_memory  # noqa: F401
