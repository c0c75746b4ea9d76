"""Exceptions raised by hpcore.

Every error a user can cause is an :class:`HpcoreError`, a ``ValueError`` subclass,
whose message names the file, column or parameter, what was expected and what was
found. The command line prints that message alone and exits with status 2.
"""

from __future__ import annotations


class HpcoreError(ValueError):
    """Base class of all user-facing hpcore errors."""


class DataSourceError(HpcoreError):
    """A file or folder is missing, unreadable, empty or not in a known format."""


class ColumnError(HpcoreError):
    """A column was named that the table does not have, or has the wrong content."""


class MetricError(ColumnError):
    """The metric column is missing, ambiguous, non-numeric or all missing."""


class ParameterError(HpcoreError):
    """A hyper-parameter name or choice is not valid for this ensemble."""


class OptionError(ParameterError):
    """An option named in a filter does not exist for its parameter."""


class SelectionError(HpcoreError):
    """A range outside [0, 1] or reversed, or an ensemble not yet normalized."""


class OutputError(HpcoreError):
    """An output folder cannot be created or written, or holds files that must
    not be replaced (``hpexplorer report --out``, ``hpexplorer findings --out``)."""
