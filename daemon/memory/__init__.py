"""The memory engine: mem0-class long-term memory on local models.

``Memory`` (async) and ``SyncMemory`` expose the mem0 v1 API; ``open_memory`` builds one from
the configuration.
"""

from daemon.memory.factory import open_memory
from daemon.memory.memory import Memory
from daemon.memory.sync import SyncMemory

__all__ = ["Memory", "SyncMemory", "open_memory"]
