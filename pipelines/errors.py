"""Errors a user can act on: the CLI prints their message as one line and exits non-zero."""


class KcbxError(Exception):
    """A run cannot complete; the message says why and, where possible, what to do."""


class InputError(KcbxError):
    """An input file or folder is unusable (missing file, missing column, unreadable encoding)."""


class ValidationStop(KcbxError):
    """A batch-level expectation failed and the run was not told to accept failures."""


class LedgerError(KcbxError):
    """A ledger operation was refused (illegal transition, older term after a newer one)."""
