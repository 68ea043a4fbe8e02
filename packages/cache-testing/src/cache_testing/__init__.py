"""cache-testing: tools to test code that caches, and to test cache backends.

``TestClock`` (virtual time), ``NoCache``/``SyncNoCache`` (remember nothing), the fakes
``RecordingBackend``/``SyncRecordingBackend`` and ``FaultyBackend``/``SyncFaultyBackend``,
a pytest plugin (loaded automatically; see ``cache_testing.plugin``) and the backend
conformance suite (``cache_testing.conformance.BackendContract``).
"""

from __future__ import annotations

from ._async_fakes import FaultyBackend, RecordingBackend
from ._clock import TestClock
from ._nocache import NoCache, SyncNoCache
from ._records import Fault, Operation
from ._sync_fakes import SyncFaultyBackend, SyncRecordingBackend

__all__ = [
    "Fault",
    "FaultyBackend",
    "NoCache",
    "Operation",
    "RecordingBackend",
    "SyncFaultyBackend",
    "SyncNoCache",
    "SyncRecordingBackend",
    "TestClock",
]
