"""Every error archlint raises on purpose, each with a one-line message and exit code 2.

The CLI prints `archlint: <message>` and exits 2 for any `ArchlintError`; `ARCHLINT_DEBUG=1`
adds the traceback. `one_line()` is where a message becomes output: escaped and redacted there.
Anything else escaping is a bug and is reported as such.
"""

from __future__ import annotations


class ArchlintError(Exception):
    """Base class: the run could not be completed. `str(err)` is one line for the user."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message as one safe line: repo text in it (file names, dtypes, values) cannot
        carry escape sequences, line breaks or a workflow command, and no credential shows."""
        from archlint.redact import redact
        from archlint.report.escape import for_line

        text = self.message if not self.hint else f"{self.message} ({self.hint})"
        return redact(for_line(text))


class UsageError(ArchlintError):
    """Bad flags or arguments."""


class InputError(ArchlintError):
    """A local path or file that cannot be read as a model."""


class ConfigError(InputError):
    """config.json missing, unreadable, not JSON, too large or too deep."""


class HeaderError(InputError):
    """A safetensors header or index that cannot be parsed at all.

    `code` is the stable rule code of the defect (the same code the lint rule reports when the
    defect is recoverable), so a CI log names the same thing either way.
    """

    def __init__(self, code: str, message: str, *, file: str | None = None) -> None:
        where = f"{file}: " if file else ""
        super().__init__(f"{where}{message} [{code}]")
        self.code = code
        self.file = file
        self.detail = message


class HubError(ArchlintError):
    """The Hub answered, but not with a usable model."""


class RepoNotFoundError(HubError):
    pass


class GatedRepoError(HubError):
    pass


class RevisionNotFoundError(HubError):
    pass


class NotSafetensorsError(HubError):
    pass


class NetworkError(HubError):
    """The Hub could not be reached, or kept failing after bounded retries."""


class OfflineError(HubError):
    """Offline mode and nothing cached or bundled for this model."""
