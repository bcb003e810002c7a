"""One exception tree for keen-import.

    KeenImportError                 base: the CLI catches it once, prints one line, exits 2
    ├── InputFileError              the file cannot be read (missing, corrupt, wrong type, too big)
    ├── MappingError                columns cannot be mapped (unknown or missing column, bad map)
    ├── ConfigurationError          options that contradict each other, missing API key, unsafe URL
    ├── AmbiguousDataError          the file itself is ambiguous (day-first vs month-first dates)
    ├── ControlTotalError           --expect-rows / --expect-total do not match the file
    ├── LedgerError                 the ledger cannot be opened, read or written (nothing sent)
    ├── OutputWriteError            a file of the run cannot be written (disk full, read-only)
    ├── NetworkError                the proxy or a certificate stops every request (nothing sent)
    └── ApiError                    the API answered in a way that stops the whole run
        └── AuthenticationError     401 "Invalid API key": nothing more may be sent

Every error carries its context as attributes and a message written for the person who reads it:
what went wrong, where, and what to do next. Messages never contain the API key.
"""

from __future__ import annotations


class KeenImportError(Exception):
    """Base class of every error keen-import raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputFileError(KeenImportError):
    """The input file cannot be read as a table of purchases."""

    def __init__(self, message: str, *, path: object = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class MappingError(KeenImportError):
    """Columns cannot be mapped to purchase fields."""


class ConfigurationError(KeenImportError):
    """Options are missing, contradictory or unsafe."""


class AmbiguousDataError(KeenImportError):
    """The file is ambiguous in a way only the user can settle (e.g. day-first dates)."""

    def __init__(self, message: str, *, column: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.column = column


class ControlTotalError(KeenImportError):
    """Control totals given by the user do not match the file."""


class LedgerError(KeenImportError):
    """The ledger of what was sent cannot be used: unreachable, refused, corrupt, too new, or
    in a place where it cannot be shared safely. ``ledger`` names it (never with a password)."""

    def __init__(self, message: str, *, ledger: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.ledger = ledger


class OutputWriteError(KeenImportError):
    """A file of the run (results, manifest, created list) cannot be written."""

    def __init__(self, message: str, *, path: object = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class NetworkError(KeenImportError):
    """The network set-up fails before the API answers once: a certificate that does not verify,
    a proxy that cannot be reached or that wants credentials, a URL whose connections close or
    time out without an answer. Nothing was sent."""


class ApiError(KeenImportError):
    """The API answered in a way that stops the whole run."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class AuthenticationError(ApiError):
    """401 from the API: the key is missing, wrong or revoked."""


class ProgressCallbackError(KeenImportError):
    """The ``on_progress`` callback raised (the error is the ``__cause__``): the send stopped
    as ``cancel()`` stops it, requests in flight answered and recorded, results written
    (resumable). ``report`` is the send's ImportReport."""

    def __init__(self, report: object) -> None:
        super().__init__(
            "the on_progress callback raised an error: the send stopped as cancel() stops it",
            hint="the results and the ledger hold every answer; fix the callback and send again "
            "to send the rest",
        )
        self.report = report
