"""Training: from a dataset to a saved, evaluated model package.

``train(dataset, out_dir, config, progress, cancel)`` is the one entry point the
GUI, the CLI, the self-test and the benchmark call. It picks the device, splits
the data, resumes from a checkpoint of the same run when one exists (same data,
same settings: the fingerprint), trains, evaluates the best epoch on the
validation rows, writes the package (rank 0 only under torchrun) and removes the
checkpoints once the package is safely on disk.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.core.i18n import N_, Message, format_percent
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.data.datasets import Dataset
from engine.models.package import check_target
from engine.training import distributed
from engine.training.checkpoint import CheckpointStore
from engine.training.config import (
    DEFAULT_MODE,
    TrainConfig,
    TrainControls,
    TrainEvent,
    TrainResult,
)
from engine.training.data import Prepared, prepare
from engine.training.faults import Faults
from engine.training.run import Trained, TrainRun

if TYPE_CHECKING:
    from engine.models.backbones.local_folder import LocalModel

log = logging.getLogger(__name__)

__all__ = [
    "TrainConfig",
    "TrainControls",
    "TrainEvent",
    "TrainResult",
    "checkpoint_store",
    "default_config",
    "train",
]

MSG_DID_NOT_LEARN_KEPT = N_(
    "The new model did not learn: its validation accuracy is {accuracy}, "
    "about what guessing gives ({chance}). The previous model at "
    "“{path}” is unchanged."
)
MSG_DID_NOT_LEARN = N_(
    "The model did not learn: its validation accuracy is {accuracy}, about "
    "what guessing gives ({chance}). Check the labels and the learning rate "
    "before using it."
)
MSG_MANY_CLASSES = N_(
    "This dataset has {n} classes, far more than most: check that the label "
    "column really holds categories and not names or IDs. Training and "
    "evaluation take much longer with this many."
)
#: Above this many classes a dataset is unusual enough to say so (ImageNet has 1,000).
UNUSUAL_CLASS_COUNT = 1000


def class_count_notes(labels: list[str]) -> list[str]:
    """A note when the class count suggests the wrong label column was picked."""
    if len(labels) <= UNUSUAL_CLASS_COUNT:
        return []
    from engine.core.i18n import format_number

    return [Message(MSG_MANY_CLASSES, {"n": format_number(len(labels))}).text()]


#: Settings that do not change the result, so a run may resume with other values.
_NOT_FINGERPRINTED = ("device", "workers")


def default_config(task: str) -> TrainConfig:
    return TrainConfig(mode=DEFAULT_MODE[task])


def local_backbone(config: TrainConfig, task: str) -> LocalModel | None:
    """``config.backbone`` validated and its weights hashed: once per run, carried in
    ``TrainRun``."""
    if not config.backbone:
        return None
    from engine.models.backbones.local_folder import inspect_folder

    return inspect_folder(config.backbone, task)


def fingerprint(
    task: str, prepared: Prepared, config: TrainConfig, local: LocalModel | None = None
) -> str:
    """Identifies a run: the same data, split, settings and starting weights give the same
    fingerprint (a local backbone folder counts by its weights' hash, not its path).
    ``local``: ``config.backbone`` already inspected (else it is inspected here)."""
    settings = {k: v for k, v in config.to_json().items() if k not in _NOT_FINGERPRINTED}
    if config.backbone:
        settings["backbone"] = (local or local_backbone(config, task)).id
    digest = hashlib.sha256(
        json.dumps(
            {"task": task, "settings": settings, "labels": prepared.labels}, sort_keys=True
        ).encode("utf-8")
    )
    for items, targets in (
        (prepared.train_items, prepared.train_y),
        (prepared.val_items, prepared.val_y),
    ):
        for item, target in zip(items, targets.tolist(), strict=True):
            digest.update(f"{item}\0{target}\n".encode("utf-8", "surrogatepass"))
        digest.update(b"\1")
    return digest.hexdigest()


def checkpoint_store(run_fingerprint: str) -> CheckpointStore:
    from engine.core.paths import user_data_dir

    return CheckpointStore(user_data_dir() / "runs" / run_fingerprint[:20], run_fingerprint)


def _device(config: TrainConfig, world: distributed.World):
    from engine.core.devices import configure_cpu_threads, select_device

    device = select_device(config.device)
    if device.kind == "cuda" and world.distributed:
        import torch

        torch.cuda.set_device(world.local_rank)
        device = dataclasses.replace(device, index=world.local_rank)
    if device.kind == "cpu":
        configure_cpu_threads()
    return device


def train(
    dataset: Dataset,
    out_dir: str | Path,
    config: TrainConfig | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    *,
    controls: TrainControls | None = None,
    on_event: Callable[[TrainEvent], None] | None = None,
    faults: Faults | None = None,
    resume: bool = True,
    name: str | None = None,
) -> TrainResult:
    """Train a model on ``dataset`` and save it as a package in ``out_dir``."""
    from engine.models.evaluation import Evaluation
    from engine.training.package import write_model

    cancel = cancel or CancelToken()
    config = (config or default_config(dataset.task)).resolved(dataset.task)
    config.check()
    package = Path(out_dir).resolve()
    check_target(package)  # before training: hours of work must not end in "cannot save there"
    world = distributed.world_from_env()
    device = _device(config, world)
    distributed.init(world, device.kind)
    try:
        prepared = prepare(
            dataset, validation_fraction=config.validation_fraction, seed=config.seed
        )
        local = local_backbone(config, dataset.task)
        store = checkpoint_store(fingerprint(dataset.task, prepared, config, local))
        if not resume:
            store.clear()
        trained = _train_task(
            dataset.task,
            TrainRun(
                prepared, config, device, store, progress, cancel, controls, on_event, faults, local
            ),
        )
        outcome, prepared = trained.outcome, trained.prepared
        evaluation = Evaluation(
            prepared.labels,
            prepared.val_items,
            prepared.val_y,
            outcome.best_probs,
            skipped=prepared.skipped,
            row_ids=prepared.val_rows,
        )
        notes = [note.text() for note in outcome.notes] + class_count_notes(prepared.labels)
        if world.main:
            notes += _check_learned(evaluation, package, store)
            write_model(
                package,
                trained,
                name=name or package.name,
                task=dataset.task,
                dataset_name=dataset.name,
                evaluation=evaluation,
                config=config,
                device=device.torch_device,
            )
            store.clear()
        distributed.barrier(world)
    finally:
        distributed.shutdown(world)
    return TrainResult(
        package,
        evaluation.summary(),
        outcome.history,
        outcome.best_epoch,
        outcome.resumed_from,
        notes,
    )


def _check_learned(evaluation, package: Path, store: CheckpointStore) -> list[str]:
    """A model that learned nothing never replaces a package: raise, keeping the old one.
    Where there is none it is saved, with a note (the returned list) saying so."""
    if not evaluation.learned_nothing():
        return []
    params = {
        "accuracy": format_percent(evaluation.accuracy, 1),
        "chance": format_percent(evaluation.chance_accuracy(), 1),
        "path": str(package),
    }
    log.warning("the model did not learn: %s", evaluation.summary())
    if check_target(package) is not None:
        store.clear()  # the run is complete; resuming it would give the same model
        raise UserError(MSG_DID_NOT_LEARN_KEPT, details=str(evaluation.summary()), **params)
    return [Message(MSG_DID_NOT_LEARN, params).text()]


def _train_task(task: str, run: TrainRun) -> Trained:
    if task == "image":
        from engine.training.image_task import train_image

        return train_image(run)
    from engine.training.text import train_text

    return train_text(run)
