"""The install layer's refusals: each says what was found, why, and what to do."""

from __future__ import annotations


class InstallError(Exception):
    """The install cannot go ahead (no usable layout, unrenderable answers, unsafe state).

    Attributes:
        message: What is wrong (what was found, and why it is refused).
        remedy: What to do about it.
        code: The stable result code (``install.*``) for JSON and the TUI.
    """

    code = "install.plan"

    def __init__(self, message: str, remedy: str = "", code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.message} {self.remedy}".strip()


class UnsafeStateError(InstallError):
    """The state directory (journal, backups) cannot be trusted."""

    code = "install.unsafe_path"


class LockedError(InstallError):
    """Another run holds the lock of this nginx tree."""

    code = "install.locked"


class JournalError(InstallError):
    """A leftover journal is damaged, partial or names paths this install does not manage."""

    code = "install.journal_damaged"
