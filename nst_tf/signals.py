"""Which signal asked this process to stop, for code that must tell an interruption from a failure.

The commands deliver SIGINT and SIGTERM as ``KeyboardInterrupt`` (loops stop and keep their
latest result). Arriving inside TensorFlow or a C extension, the interrupt can surface as another
exception instead (a tf.data or pybind11 error "... REPLACED BY KeyboardInterrupt"): with
:func:`received` set, such an exception is the interruption, not a bug.
"""

from __future__ import annotations

from typing import Optional

_received: Optional[int] = None


def note(signum: int) -> None:
    """Record that ``signum`` asked the process to stop (called by the commands' handlers)."""
    global _received
    _received = signum


def received() -> Optional[int]:
    """The signal that asked the process to stop, or None."""
    return _received


def caused_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is an interruption: a KeyboardInterrupt, or any error after a stop signal."""
    return isinstance(exc, KeyboardInterrupt) or _received is not None or "KeyboardInterrupt" in str(exc)
