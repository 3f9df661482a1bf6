"""What a trainer is given (``TrainRun``) and what it hands back (``Trained``).

``train`` builds one ``TrainRun`` and passes it down: the trainers read what
they need from it instead of ten positional arguments, and the local backbone
folder is inspected once (validated and its weights hashed) and carried here,
not inspected again by every step. A trainer returns one ``Trained`` that
``train`` evaluates and ``training.package`` writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.core.devices import DeviceInfo
from engine.core.jobs import CancelToken, Progress
from engine.training.checkpoint import CheckpointStore
from engine.training.config import TrainConfig, TrainControls, TrainEvent
from engine.training.data import Prepared
from engine.training.faults import Faults
from engine.training.loop import LoopOutcome, LoopSpec, run_loop

if TYPE_CHECKING:
    from engine.models.backbones.local_folder import LocalModel


@dataclass(frozen=True)
class TrainRun:
    """One run's data, settings, device and callbacks, as every trainer takes them."""

    prepared: Prepared
    config: TrainConfig  # resolved for the task
    device: DeviceInfo
    store: CheckpointStore | None
    progress: Progress
    cancel: CancelToken
    controls: TrainControls | None = None
    on_event: Callable[[TrainEvent], None] | None = None
    faults: Faults | None = None
    local: LocalModel | None = None  # ``config.backbone``, inspected once by ``train``

    def with_prepared(self, prepared: Prepared) -> TrainRun:
        """The same run on fewer rows (the files that could not be read are left out)."""
        return dataclasses.replace(self, prepared=prepared)

    def emit(self, event: TrainEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def loop(self, spec: LoopSpec) -> LoopOutcome:
        """The shared loop on ``spec`` with this run's settings, checkpoints and callbacks."""
        return run_loop(
            spec,
            self.config,
            self.store,
            self.progress,
            self.cancel,
            self.controls,
            self.on_event,
            self.faults,
        )


@dataclass(frozen=True)
class Trained:
    """A trainer's result: what ``train`` evaluates and what the package holds."""

    prepared: Prepared  # the rows actually used (unreadable files left out)
    outcome: LoopOutcome
    tensors: dict[str, Any]
    kind: str  # the package's model kind
    backbone: dict[str, Any]  # what the manifest says about the starting point
    preprocess: dict[str, Any] | None
    extra_files: dict[str, bytes] | None = None
