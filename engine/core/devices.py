"""Which compute device training and inference use, and how to describe it.

torch is imported here lazily: the window must paint before it loads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from engine.core.i18n import N_, _
from engine.core.jobs import UserError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "cuda", "mps" or "cpu"
    name: str
    memory_bytes: int | None  # total memory of a GPU; None for the CPU
    index: int = 0  # which GPU (one process per GPU under torchrun)

    @property
    def torch_device(self) -> str:
        return f"cuda:{self.index}" if self.kind == "cuda" else self.kind


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def select_device(preference: str = "auto") -> DeviceInfo:
    """CUDA, then Apple MPS, then the CPU; an explicit choice that is missing is an error."""
    import torch

    if preference not in DEVICE_CHOICES:
        raise UserError(N_("Unknown device “{device}”."), device=preference)
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if preference == "cuda" and not cuda:
        raise UserError(N_("No CUDA GPU is available on this computer."))
    if preference == "mps" and not mps:
        raise UserError(N_("Apple GPU (MPS) is not available on this computer."))
    if preference in ("auto", "cuda") and cuda:
        props = torch.cuda.get_device_properties(0)
        return DeviceInfo("cuda", props.name, int(props.total_memory))
    if preference in ("auto", "mps") and mps:
        return DeviceInfo("mps", "Apple GPU", None)
    return DeviceInfo("cpu", _cpu_name(), None)


def configure_cpu_threads() -> int:
    """Use the physical cores for intra-op work unless the user already chose."""
    import torch

    if "OMP_NUM_THREADS" in os.environ:
        return torch.get_num_threads()
    threads = max(1, (os.cpu_count() or 1))
    torch.set_num_threads(threads)
    return threads


def describe(info: DeviceInfo) -> str:
    """A short, translated label for the status bar and the CLI."""
    from engine.core.i18n import format_bytes

    if info.kind == "cpu":
        return _("CPU: {name}").format(name=info.name)
    if info.memory_bytes:
        return _("GPU: {name} ({memory})").format(
            name=info.name, memory=format_bytes(info.memory_bytes)
        )
    return _("GPU: {name}").format(name=info.name)
