"""Errors that healthhub reports to its users.

``UserError`` and its subclasses are printed by the CLI as one line, without a traceback,
and exit with status 2 (usage or input). Messages name files, positions and paths of
ViewDefinitions; they never carry a patient's value.
"""

from __future__ import annotations


class HealthhubError(Exception):
    """Base class of every error raised on purpose by healthhub."""


class UserError(HealthhubError):
    """A problem with what the user asked for or gave: printed without a traceback."""

    exit_code = 2


class InputFileError(UserError):
    """An input file is missing, unreadable, or not of a supported kind."""


class ViewDefinitionError(UserError):
    """A ViewDefinition is invalid: the message names the offending path."""


class ViewExecutionError(HealthhubError):
    """A valid view failed on the data (e.g. several values where the column expects one)."""

    exit_code = 1


class MissingDependencyError(UserError):
    """An optional dependency is needed: the message names the package to install."""
