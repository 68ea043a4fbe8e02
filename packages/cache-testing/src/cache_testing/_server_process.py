"""What the test servers (``redis-server``, a Redis Cluster, ``mongod``) have in common."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import TypeVar

_Server = TypeVar("_Server", bound="ServerProcess")


class ServerProcess(abc.ABC):
    """A server started for tests: ``with Server(...) as server`` starts it (unless it runs) and closes it."""

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """Where clients connect."""

    @property
    @abc.abstractmethod
    def running(self) -> bool:
        """Whether its processes are alive."""

    @abc.abstractmethod
    def start(self) -> None:
        """Start it and wait until it answers."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop it and delete its files."""

    def __enter__(self: _Server) -> _Server:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {self.url} {state}>"
