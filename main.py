"""Taxon's entry point: no arguments opens the window; a sub-command runs headless."""

from __future__ import annotations

import sys
from pathlib import Path


def _is_model_package(argument: str) -> bool:
    """A zipped ``.taxon-model`` or a model folder: what the installers' file association opens."""
    path = Path(argument)
    return (path.suffix == ".taxon-model" and path.is_file()) or (
        path / "taxon-model.json"
    ).is_file()


def _gui_language(argv: list[str]) -> tuple[bool, str | None]:
    """The window opens for no arguments, only ``--lang CODE``, or one model package."""
    if not argv or (len(argv) == 1 and _is_model_package(argv[0])):
        return True, None
    if len(argv) == 2 and argv[0] == "--lang":
        return True, argv[1]
    if len(argv) == 1 and argv[0].startswith("--lang="):
        return True, argv[0].split("=", 1)[1]
    return False, None


def _interrupt_on_sigterm() -> None:
    """Treat SIGTERM (``kill``, a service manager, a closing terminal) like Ctrl+C.

    The command line then cancels its job and closes its decode workers on the
    way out, instead of dying with them still running.
    """
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, interrupt)
    except (ValueError, OSError):  # not the main thread (embedded use): leave it as it is
        pass


def main() -> int:
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: let worker processes start
        import multiprocessing

        multiprocessing.freeze_support()
    import engine.core.offline

    engine.core.offline.enforce_offline_environment()
    argv = sys.argv[1:]
    if argv[:1] == ["--self-test"]:  # an installation's own check (ui/selftest.py)
        from ui.selftest import main as self_test

        return self_test(argv[1:])
    gui, language = _gui_language(argv)
    if gui:
        from ui.app import run

        return run(argv if argv and _is_model_package(argv[0]) else [], language)
    from ui.cli import main as cli_main

    _interrupt_on_sigterm()
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
