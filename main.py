"""Taxon's entry point: no arguments opens the window; a sub-command runs headless."""

from __future__ import annotations

import sys


def _gui_language(argv: list[str]) -> tuple[bool, str | None]:
    """The window opens for no arguments or only ``--lang CODE``."""
    if not argv:
        return True, None
    if len(argv) == 2 and argv[0] == "--lang":
        return True, argv[1]
    if len(argv) == 1 and argv[0].startswith("--lang="):
        return True, argv[0].split("=", 1)[1]
    return False, None


def main() -> int:
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: let worker processes start
        import multiprocessing

        multiprocessing.freeze_support()
    import engine.offline

    engine.offline.enforce_offline_environment()
    argv = sys.argv[1:]
    gui, language = _gui_language(argv)
    if gui:
        from ui.app import run

        return run([], language)
    from ui.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
