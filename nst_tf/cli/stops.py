"""How the commands stop: SIGINT (Ctrl-C) and SIGTERM become ``KeyboardInterrupt`` while a job
runs, so its loops stop and keep their latest result; once the work is over, a signal ends the
process at once with 130 / 143.

Python cannot raise an exception out of a finaliser (a ``__del__``, a ``weakref`` callback, e.g.
TensorFlow freeing a traced function during garbage collection): it prints "Exception ignored in
..." with a traceback and goes on, so a stop landing there was lost and the job ran to its end.
Such a stop is asked again 20 ms later by a SIGALRM timer (not a thread: the finaliser may run
while the interpreter holds threading's own locks); a finaliser the handler does not recognise is
caught by :func:`sys.unraisablehook` the same way.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

from nst_tf import signals

EXIT_SIGINT, EXIT_SIGTERM = 130, 143
#: a stop that could not be raised where it landed is asked again this much later [s]
AGAIN = 0.02

_terminated = False


def terminated() -> bool:
    """True once SIGTERM arrived (exit 143 rather than Ctrl-C's 130)."""
    return _terminated


def exit_code() -> int:
    """130 for Ctrl-C, 143 for SIGTERM."""
    return EXIT_SIGTERM if _terminated else EXIT_SIGINT


def exit_now(code: int) -> None:
    """End the process with ``code`` without the interpreter's shutdown (for a command stopped while a
    daemon thread is inside TensorFlow, which aborts or hangs when the interpreter is torn down
    under it). Output is flushed first; only call this once all work is saved."""
    for handler in logging.getLogger().handlers + logging.getLogger("nst_tf").handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _on_sigterm(signum, frame):
    global _terminated
    _terminated = True
    _on_sigint(signum, frame)


def _on_sigint(signum, frame):
    signals.note(signum)
    if _inside_finaliser(frame):
        signal.setitimer(signal.ITIMER_REAL, AGAIN)  # the finaliser returns first
        return
    raise KeyboardInterrupt()


def _on_alarm(signum, frame):
    _on_sigint(signals.received() or signal.SIGINT, frame)


def _inside_finaliser(frame) -> bool:
    """Whether the handler interrupted a ``__del__`` or a ``weakref.finalize`` callback."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__" or (code.co_name == "__call__" and code.co_filename.endswith("weakref.py")):
            return True
        frame = frame.f_back
    return False


def _unraisable(unraisable) -> None:
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        signal.setitimer(signal.ITIMER_REAL, AGAIN)  # dropped where Python cannot raise: ask again
        return
    sys.__unraisablehook__(unraisable)


def while_working() -> None:
    """From here on, SIGINT and SIGTERM are ``KeyboardInterrupt`` (see the module docstring)."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, _on_sigint)
    signal.signal(signal.SIGALRM, _on_alarm)
    sys.unraisablehook = _unraisable


def after_work() -> None:
    """Once the work is over (written, or refused), a signal during the interpreter's shutdown
    (TensorFlow's threads can take a second) ends the process at once with 130 / 143, instead of
    a KeyboardInterrupt escaping where nothing catches it."""
    signal.signal(signal.SIGINT, lambda *_: exit_now(EXIT_SIGINT))
    signal.signal(signal.SIGTERM, lambda *_: exit_now(EXIT_SIGTERM))
    signal.signal(signal.SIGALRM, lambda *_: exit_now(exit_code()))
