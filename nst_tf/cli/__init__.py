"""Command-line entry points (absl apps). Each parses flags, builds a config, calls the library.

Ctrl-C while a command is still loading (its modules, absl) ends it with exit 130 and no
traceback; :func:`nst_tf.cli.common.run_app` takes SIGINT back once the command's work starts.
"""

import os
import signal
import sys
import threading


def _running_a_command() -> bool:
    # nst-* console scripts, or ``python -m nst_tf.cli.X`` (argv[0] is "-m" while it imports)
    return os.path.basename(sys.argv[0]).startswith("nst-") or sys.argv[:1] == ["-m"]


if (
    _running_a_command()
    and threading.current_thread() is threading.main_thread()
    and signal.getsignal(signal.SIGINT) is signal.default_int_handler
):
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))
