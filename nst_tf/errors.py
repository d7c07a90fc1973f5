"""Errors a user can cause (bad file, bad flag, missing weights).

The CLIs print a :class:`UserError` on one line and exit with code 2; everything
else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem the user can fix; the message names the problem and the fix."""


class WeightsError(UserError):
    """Backbone weights could not be found, downloaded or loaded."""
