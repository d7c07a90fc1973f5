"""Errors a user can cause (bad file, bad flag, missing weights).

The CLIs print a :class:`UserError` on one line and exit with code 2; everything
else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem the user can fix; the message names the problem and the fix."""


class WeightsError(UserError):
    """Backbone weights could not be found, downloaded or loaded."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (its type name when it has none), cut to ``limit``:
    what a one-line refusal quotes of an error raised by a library underneath."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:limit]
