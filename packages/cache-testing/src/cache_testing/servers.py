"""Real servers for tests: ``redis-server`` and ``mongod`` on free loopback ports.

Each starts in a temporary directory and stops on ``close()``; ``restart()`` brings
it back on the same port (for outage tests). ``REDIS_URL``, ``REDIS_CLUSTER_URL``
and ``MONGODB_URL`` point tests at existing servers instead. When a binary is
missing, tests are skipped with the reason, except under ``CI`` where it is an error.
"""

from __future__ import annotations

from ._mongo_server import MongoServer, find_mongod
from ._redis_server import RedisClusterProcesses, RedisServerProcess, redis_command

__all__ = ["MongoServer", "RedisClusterProcesses", "RedisServerProcess", "find_mongod", "redis_command"]
