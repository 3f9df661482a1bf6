"""What a training run is asked to do, what it reports while running, and what it returns.

The settings are one JSON-able dataclass so that the GUI form, the command line,
the checkpoint (a resumed run must use the same settings) and the model card all
speak about the same thing.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.core.devices import DeviceInfo
from engine.core.i18n import N_

MODES = ("fast", "finetune", "instant")
#: Per task, the mode offered first.
DEFAULT_MODE = {"image": "fast", "text": "instant"}
TRAIN_BLOCKS = ("all", "top")

#: The widest settings a run accepts; the command line refuses values outside them.
EPOCHS_MAX = 10_000
BATCH_SIZE_MAX = 65_536
LEARNING_RATE_MAX = 10.0
SEED_MAX = 2**32 - 1  # what NumPy's and PyTorch's generators take

#: Plain names a non-specialist understands; the Train page's explanation under the mode
#: (and docs) carries the technical words. The command line's ``--mode`` keeps the ids.
MODE_NAMES = {
    "instant": N_("Quick"),
    "fast": N_("Standard"),
    "finetune": N_("Thorough"),
}


@dataclass
class TrainConfig:
    """Settings of one run. ``None`` means "the mode's default" (see ``resolved``)."""

    mode: str = "fast"
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    weight_decay: float = 0.05
    seed: int = 0
    device: str = "auto"
    validation_fraction: float = 0.2
    patience: int | None = None
    label_smoothing: float | None = None
    warmup_fraction: float = 0.05
    class_weighting: bool = True
    train_blocks: str = "all"  # fine-tune: "all" or "top" (head + last stages)
    augment_crop: bool = True
    augment_flip: bool = True
    augment_color: bool = True
    precision: str = (
        "auto"  # "auto" (bf16 where the card has it, else fp16), "bf16", "fp16", "fp32"
    )
    workers: int | None = None  # DataLoader worker processes (fine-tune)
    backbone: str | None = None  # a local Hugging Face folder instead of the built-in model

    def resolved(self, task: str = "image") -> TrainConfig:
        """A copy with every mode default filled in (transformers fine-tune gently)."""
        defaults = {
            "fast": {
                "epochs": 100,
                "batch_size": 32,
                "learning_rate": 1e-2,
                "patience": 10,
                "label_smoothing": 0.0,
            },
            "finetune": {
                "epochs": 10 if task == "image" else 4,
                "batch_size": 32 if task == "image" else 16,
                # EfficientNet takes 1e-3; transformers (text, local ViTs) need far less
                "learning_rate": 1e-3 if task == "image" and not self.backbone else 5e-5,
                "patience": 3,
                "label_smoothing": 0.1,
            },
            "instant": {
                "epochs": 15,
                "batch_size": 0,
                "learning_rate": 0.0,
                "patience": 3,
                "label_smoothing": 0.0,
            },
        }[self.mode]
        values = {name: getattr(self, name) for name in defaults}
        return dataclasses.replace(
            self,
            **{name: defaults[name] if value is None else value for name, value in values.items()},
        )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})

    def check(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}")
        if self.train_blocks not in TRAIN_BLOCKS:
            raise ValueError(f"unknown train_blocks {self.train_blocks!r}")
        if self.learning_rate is not None and not math.isfinite(self.learning_rate):
            raise ValueError(f"learning_rate must be finite, not {self.learning_rate!r}")
        if not 0.0 < self.validation_fraction < 0.9:
            raise ValueError("validation_fraction must be between 0 and 0.9")


@dataclass
class TrainEvent:
    """A moment of a run, for charts and status lines. ``kind``: "step", "epoch" or "note"."""

    kind: str
    epoch: int = 0
    epochs: int = 0
    step: int = 0  # steps done in this epoch
    steps: int = 0  # steps per epoch
    global_step: int = 0
    loss: float | None = None
    accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    items_per_s: float | None = None
    eta_s: float | None = None
    gpu_memory_bytes: int | None = None
    batch_size: int = 0
    best_epoch: int | None = None
    note: Any = None  # an engine.core.i18n.Message for "note" and "status" events


class TrainControls:
    """Pause and resume from another thread (cancel is the job's ``CancelToken``)."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_if_paused(self, cancel, poll_s: float = 0.1) -> float:
        """Block while paused (cancel still works); returns the seconds spent paused."""
        import time

        if self._running.is_set():
            return 0.0
        start = time.monotonic()
        while not self._running.wait(poll_s):
            cancel.raise_if_cancelled()
        return time.monotonic() - start


@dataclass
class TrainResult:
    package: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    resumed_from_epoch: int | None = None
    notes: list[str] = field(default_factory=list)


def amp_dtype(config: TrainConfig, device: DeviceInfo):
    """The autocast dtype for ``config.precision`` on ``device`` (None: full precision)."""
    import torch

    if device.kind != "cuda" or config.precision == "fp32":
        return None
    if config.precision in ("bf16", "fp16"):
        return torch.bfloat16 if config.precision == "bf16" else torch.float16
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
