"""The memory engine: mem0-class long-term memory on local models.

mem0's names: ``Memory`` (synchronous) and ``AsyncMemory``; both work with no arguments (the
embedded defaults) and ``from_config(dict)`` takes mem0's configuration shape. ``open_memory``
builds a started ``AsyncMemory`` from the server's configuration.
"""

from daemon.memory.factory import open_memory
from daemon.memory.filters import FilterError
from daemon.memory.mem0_config import Mem0ConfigError
from daemon.memory.memory import AsyncMemory
from daemon.memory.store import MemoryStore, Scope, SqliteStore
from daemon.memory.sync import Memory, SyncMemory
from daemon.modelfiles.resolve import ModelMissingError

__all__ = ["AsyncMemory", "FilterError", "Mem0ConfigError", "Memory", "MemoryStore",
           "ModelMissingError", "Scope", "SqliteStore", "SyncMemory", "open_memory"]
