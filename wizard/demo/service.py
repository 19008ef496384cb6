"""The start/stop/``with`` protocol shared by every simulated server."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self


class Service:
    """Something that is started, stopped, and usable as a context manager.

    Subclasses implement :meth:`start` (returning ``self``) and :meth:`stop`
    (safe to call twice, never raising).
    """

    def start(self) -> Self:
        """Start serving; returns ``self`` so ``with X().start()`` reads well."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop serving and release every resource."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
