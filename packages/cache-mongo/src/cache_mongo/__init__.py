"""cache-mongo: MongoDB backends for cache-core.

``MongoCache`` uses PyMongo's ``AsyncMongoClient`` (Motor clients are accepted too);
``SyncMongoCache`` uses ``MongoClient``. ``AsyncMongoBackend`` / ``MongoBackend`` keep
cachetoolz's names and signatures.
"""

from __future__ import annotations

from ._async_mongo import AsyncMongoBackend, MongoCache
from ._sync_mongo import MongoBackend, SyncMongoCache

__all__ = ["AsyncMongoBackend", "MongoBackend", "MongoCache", "SyncMongoCache"]
