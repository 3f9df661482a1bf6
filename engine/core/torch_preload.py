"""Import torch in smaller pieces, so a window stays responsive while it loads.

``import torch`` loads several large shared libraries and registers thousands of
operators while holding Python's global lock: 0.3 s on a quiet machine, 0.7 s or more
on a busy one, during which every other Python thread (the window's included) waits.
Loading the libraries one by one first (``ctypes``) splits that into shorter holds;
the import that follows finds them loaded and takes a fraction of the time.

Call ``import_torch()`` on a worker thread where torch is first needed. Anything
unexpected (another layout, a frozen app) falls back to a plain import.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

#: In load order: each needs the ones before it.
_LIBRARIES = ("libc10.so", "libtorch_cpu.so", "libtorch.so", "libtorch_python.so")


def import_torch():
    """``torch``, its shared libraries loaded one at a time first (Linux)."""
    if "torch" not in sys.modules and sys.platform.startswith("linux"):
        try:
            spec = importlib.util.find_spec("torch")
            folder = Path(spec.origin).parent / "lib" if spec and spec.origin else None
            for name in _LIBRARIES if folder is not None else ():
                if (folder / name).is_file():
                    ctypes.CDLL(str(folder / name), mode=ctypes.RTLD_GLOBAL)
        except (OSError, ValueError):
            log.debug("Cannot preload torch's libraries; importing it plainly", exc_info=True)
    import torch

    return torch
