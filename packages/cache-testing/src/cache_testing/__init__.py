"""cache-testing: TestClock, NoCache, fakes, pytest plugin, conformance suite. Not built yet (see the project issues)."""

from __future__ import annotations

__all__: list[str] = []
