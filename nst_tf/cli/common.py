"""What every nst_tf command shares: quiet TF start-up, one-line errors, exit codes, signals.

Exit codes: 0 done; 3 a batch finished but refused some inputs (each named on stderr and in the
manifest); 2 user error (nothing done); 130 interrupted by Ctrl-C; 143 by SIGTERM; 1 a bug.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.abc
import importlib.util
import logging
import os
import sys
from typing import Callable, Iterator, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide TF C++ start-up noise (e.g. cuInit on CPU-only machines)

from absl import app, flags  # noqa: E402

from nst_tf import signals  # noqa: E402
from nst_tf.cli import stops  # noqa: E402
from nst_tf.cli.stops import EXIT_SIGINT, EXIT_SIGTERM, exit_now  # noqa: E402,F401
from nst_tf.errors import UserError  # noqa: E402

EXIT_OK, EXIT_BUG, EXIT_USER, EXIT_SOME_REFUSED = 0, 1, 2, 3


def say(line: str) -> None:
    """A command's own output line (results written, progress), on stdout at once."""
    print(line, flush=True)


def fail(prog: str, message: str, code: int = EXIT_USER) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
    return code


class _MaxLevel(logging.Filter):
    def __init__(self, below: int):
        super().__init__()
        self.below = below

    def filter(self, record) -> bool:
        return record.levelno < self.below


def _setup_logging(prog: str) -> None:
    """The library's INFO lines (headers, batch progress) on stdout as they are; warnings on
    stderr as ``prog: warning: ...``."""
    logger = logging.getLogger("nst_tf")
    if not any(getattr(h, "_nst_cli", False) for h in logger.handlers):
        info = logging.StreamHandler(sys.stdout)
        info.addFilter(_MaxLevel(logging.WARNING))
        info.setFormatter(logging.Formatter("%(message)s"))
        warn = logging.StreamHandler(sys.stderr)
        warn.setLevel(logging.WARNING)
        warn.setFormatter(logging.Formatter(f"{prog}: warning: %(message)s"))
        for handler in (info, warn):
            handler._nst_cli = True
            logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def define_tpu_flag() -> None:
    """``--tpu``: the same flag, with the same meaning, for every command that can use a TPU."""
    flags.DEFINE_string(
        "tpu",
        None,
        "Run on a TPU: local (attached to this VM), a TPU name or grpc://host:port. "
        "Connects and initialises the TPU system first.",
    )


@contextlib.contextmanager
def device_scope(tpu: Optional[str]) -> Iterator[None]:
    """With ``--tpu``: connect to it, initialise it and place the work on its first core."""
    if not tpu:
        yield
        return
    import tensorflow as tf

    from nst_tf import precision

    strategy = precision.connect_tpu(tpu)
    device = tf.config.list_logical_devices("TPU")[0].name
    with strategy.scope(), tf.device(device):
        yield


def quiet_tensorflow_import() -> None:
    """Import TensorFlow with its C++ start-up lines (cudart/cuInit notices) hidden.

    On a CPU-only machine TF prints them straight to file descriptor 2 whatever
    TF_CPP_MIN_LOG_LEVEL says, burying our one-line messages. Only this import is
    silenced; Python exceptions still surface.
    """
    if "tensorflow" in sys.modules or os.environ.get("NST_TF_VERBOSE_TF"):
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()  # initialises the platforms, which also prints
        # Each run traces its own step function (new variables, new image size); TF's
        # "triggered tf.function retracing" advice does not apply to that, so keep only errors.
        tf.get_logger().setLevel(logging.ERROR)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietTensorFlowOnFirstImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Defers :func:`quiet_tensorflow_import` to the first ``import tensorflow`` (or keras), so a
    mistake found before any network is built is answered without TensorFlow's ~3 s start-up.

    The nested import fills ``sys.modules``; the outer import then receives that same module."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or "tensorflow" in sys.modules:
            return None
        sys.meta_path.remove(self)
        quiet_tensorflow_import()
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        module = sys.modules[spec.name]
        self._spec = module.__spec__
        return module

    def exec_module(self, module) -> None:
        module.__spec__ = self._spec  # the outer import replaced it with this finder's


def quiet_tensorflow_on_first_import() -> None:
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlowOnFirstImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowOnFirstImport())


flags.DEFINE_bool("verbose", False, "On an internal error, print the full traceback (otherwise one line).")


def run_app(prog: str, main: Callable[[list], int], pass_through: bool = False, eager_tensorflow: bool = False) -> None:
    """Run an absl ``main`` with one-line flag errors (exit 2) and our exit codes.

    A user error (``UserError``, or a write refused by the system: disk full, file-size limit,
    permissions) is one line and exit 2; anything else is a bug: one line naming it and exit 1,
    the traceback with ``--verbose``. With ``pass_through``, flags this command does not define
    reach ``main`` in ``argv[1:]`` (Beam's pipeline options) instead of being refused here.
    TensorFlow is imported (quietly) when the command first needs it, or before ``main`` with
    ``eager_tensorflow`` (a server whose threads import it: its start-up output must not be hidden).
    """

    def parse(argv):
        try:
            return flags.FLAGS(argv, known_only=pass_through)
        except flags.Error as exc:
            sys.exit(fail(prog, f"{exc} (see {prog} --helpshort)"))

    def wrapped(argv):
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.WARNING)  # TF modules log INFO lines through absl
        _setup_logging(prog)
        stops.while_working()  # Ctrl-C and SIGTERM are KeyboardInterrupt from here
        if len(argv) > 1 and not pass_through:
            return fail(prog, f"unexpected arguments {argv[1:]}; every option is a --flag (see {prog} --helpshort)")
        try:
            if eager_tensorflow:
                quiet_tensorflow_import()
            else:
                quiet_tensorflow_on_first_import()
            return main(argv)
        except UserError as exc:
            return fail(prog, str(exc))
        except KeyboardInterrupt:
            return _interrupted(prog)
        except OSError as exc:
            if exc.errno in _USER_OS_ERRORS:
                where = f" {exc.filename}" if exc.filename else ""
                return fail(prog, f"could not write{where}: {exc.strerror or exc}; {_USER_OS_ERRORS[exc.errno]}")
            return _bug(prog, exc)
        except Exception as exc:  # noqa: BLE001  (a bug: one line, or the traceback with --verbose)
            if signals.caused_by_interrupt(exc):  # the interrupt surfaced inside TensorFlow as another error
                return _interrupted(prog)
            return _bug(prog, exc)
        finally:
            stops.after_work()

    app.run(wrapped, flags_parser=parse)


def _interrupted(prog: str) -> int:
    """The end of a stopped job: its latest result is already written (the loops keep it, writes
    are atomic). The process ends here, without the interpreter's shutdown: a stop that landed
    while TensorFlow was loading can leave a half-imported module whose teardown raised the
    interrupt again, ending the process by SIGINT instead of 130 / 143."""
    print(f"{prog}: interrupted", file=sys.stderr, flush=True)
    exit_now(stops.exit_code())
    return EXIT_SIGINT  # not reached


_USER_OS_ERRORS = {
    errno.ENOSPC: "free some disk space (nothing partial was left; an earlier file of that name is unchanged)",
    errno.EFBIG: "the file-size limit (ulimit -f) is too low for it (nothing partial was left)",
    errno.EDQUOT: "the disk quota is full (nothing partial was left)",
    errno.EACCES: "choose a writable location",
    errno.EROFS: "the file system is read-only; choose another location",
}


def _bug(prog: str, exc: BaseException) -> int:
    if flags.FLAGS.is_parsed() and flags.FLAGS.verbose:
        import traceback

        traceback.print_exception(exc)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return fail(
        prog,
        f"internal error: {type(exc).__name__}: {first} (a bug; rerun with --verbose for the traceback and report it)",
        code=EXIT_BUG,
    )


def split_list(value) -> list:
    """Flag values given as comma-separated strings or lists, stripped, empties dropped."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(v).strip() for v in items if str(v).strip()]
