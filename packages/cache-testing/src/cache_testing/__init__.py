"""cache-testing: tools to test code that caches, and to test cache backends.

``TestClock`` (virtual time), ``NoCache``/``SyncNoCache`` (remember nothing), the fakes
``RecordingBackend`` and ``FaultyBackend`` (and sync twins), a pytest plugin (loaded
automatically; see ``cache_testing.plugin``) and the backend conformance suite
(``cache_testing.conformance.BackendContract``).
"""

from __future__ import annotations

from ._clock import TestClock
from ._nocache import NoCache, SyncNoCache

__all__ = ["NoCache", "SyncNoCache", "TestClock"]
