"""The ``sessionh5`` command line: a thin shell over library functions that return data.

Each subcommand is one module of this package with ``add_parser(subparsers)`` (which
ends with ``parser.set_defaults(run=run)``) and ``run(args) -> int`` (the exit code);
adding a command means adding its module and its name to :data:`COMMANDS`. A name whose
module does not exist yet is skipped, so ``dump``, ``diff``, ``convert`` and
``validate`` can land one at a time. ``run`` calls a library function and prints;
it raises SessionError (or OSError) rather than printing errors itself. :func:`main`
alone turns errors into messages and exit codes: 0 success, 1 a failure (bad file,
missing file, differences found), 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from ..errors import RestoreError, SessionError, _name_file
from ._files import is_url

__all__ = ["COMMANDS", "build_parser", "main"]

#: Subcommand name -> module in this package, in the order ``--help`` lists them.
COMMANDS: dict[str, str] = {
    "info": "info",
    "ls": "ls",
    "dump": "dump",
    "diff": "diff",
    "convert": "convert",
    "validate": "validate",
    "demo": "demo",
    "plugin-path": "plugin_path",
}
PROG = "sessionh5"


def _command_module(module: str) -> ModuleType | None:
    """The module of one subcommand, or None while it has not been written yet."""
    name = f"{__name__}.{module}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog=PROG, description="Inspect, check and convert sessionh5 session files.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMANDS.values():
        module = _command_module(module_name)
        if module is not None:
            module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on bad usage, 0 on --help/--version
    _printable_anywhere(sys.stdout, sys.stderr)
    code = int(getattr(args, "error_code", 1))  # diff exits 1 for "differ", 2 for errors
    try:
        return int(args.run(args))
    except SessionError as exc:
        if isinstance(exc, RestoreError):  # about the file read: name it
            _name_file(exc, getattr(args, "file", None) or getattr(args, "src", None))
        return _fail(str(exc), code=code)
    except FileNotFoundError as exc:
        if is_url(str(exc.filename)):  # a URL naming no object: the address is wrong
            return _fail(f"no such object: {exc.filename}", code=2)
        return _fail(f"no such file: {exc.filename or exc}", code=code)
    except IsADirectoryError as exc:
        return _fail(f"is a directory, not a session file: {exc.filename or exc}", code=code)
    except PermissionError as exc:
        return _fail(f"permission denied: {exc.filename or exc}", code=code)
    except BrokenPipeError:
        sys.stderr.close()  # output piped into `head`; nothing left to say
        return 1
    except OSError as exc:  # e.g. an object store that cannot be reached
        return _fail(str(exc), code=code)
    except MemoryError:  # the readers say which part; this is the last net
        return _fail("out of memory (the machine's, or a ulimit or container limit)",
                     code=code)
    except KeyboardInterrupt:
        return _fail("interrupted", code=130)


def _printable_anywhere(*streams: object) -> None:
    """Print what the terminal's encoding lacks as escapes (``\\u65e5``), not a traceback.

    A file may hold any text; Windows' pipes and redirections use the locale's code
    page (cp1252, ...), where most of it has no byte.
    """
    for stream in streams:
        encoding = str(getattr(stream, "encoding", "") or "").lower().replace("-", "")
        if encoding != "utf8" and getattr(stream, "errors", None) == "strict" and \
                hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _fail(message: str, *, code: int = 1) -> int:
    """One line on stderr, no traceback: scripts read the exit code, people the line."""
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"{PROG}: error: {first}", file=sys.stderr)
    return code
