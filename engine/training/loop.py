"""The epoch loop every trainer shares: fast heads, fine-tuned networks, text models.

It owns what must be right once and everywhere: AdamW with warm-up + cosine
learning rate, label smoothing and class weights, early stopping on validation
loss (the best epoch's weights are the result), per-epoch atomic checkpoints
and resume (``engine.training.loop_checkpoint``), seeded shuffling (same seed,
same metrics on the CPU), NaN and explosion stops before a bad step touches the
weights (``engine.training.divergence``), out-of-memory back-off
(``engine.training.backoff``), pause/resume/cancel checked
every step, throttled progress events, small models (heads) on one CPU
thread (``engine.training.cpu_threads``), and DistributedDataParallel.

A trainer describes its model and data in a ``LoopSpec``; the loop never
knows whether a batch holds feature vectors, pixels or token ids.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.core.i18n import N_, Message, format_number
from engine.core.jobs import CancelToken, Progress, UserError
from engine.training import distributed
from engine.training.backoff import with_backoff
from engine.training.checkpoint import CheckpointStore
from engine.training.config import TrainConfig, TrainControls, TrainEvent
from engine.training.cpu_threads import cpu_threads_for
from engine.training.divergence import MSG_DIVERGED, check_loss
from engine.training.faults import Faults
from engine.training.loop_checkpoint import resume, save_checkpoint

log = logging.getLogger(__name__)

EVENT_INTERVAL_S = 0.25
MSG_EPOCH = N_("Training: epoch {epoch} of {epochs}")
MSG_EARLY_STOP = N_(
    "Validation loss stopped improving: stopped after epoch {epoch}, kept epoch {best}."
)

Batches = Callable[[str, list[int], int, int], Iterable[tuple[Any, Any]]]


@dataclass
class LoopSpec:
    """A model and its data, as the loop needs them."""

    model: Any  # torch.nn.Module on ``device``
    trainable: list[Any]
    batches: Batches  # (split, order, batch_size, epoch) -> (inputs, labels) batches
    train_labels: np.ndarray
    val_labels: np.ndarray
    num_classes: int
    device: Any  # torch.device
    class_weights: Any = None  # torch tensor or None
    amp_dtype: Any = None  # torch.bfloat16 / torch.float16 on CUDA, else None
    channels_last: bool = False
    to_device: Callable[[Any, Any], Any] | None = None  # custom move for dict batches


@dataclass
class LoopOutcome:
    best_state: dict[str, Any]
    best_epoch: int
    best_probs: np.ndarray  # validation probabilities at the best epoch
    history: list[dict[str, Any]]
    resumed_from: int | None = None
    notes: list[Message] = field(default_factory=list)
    batch_size: int = 0


def lr_factor(progress: float, warmup: float) -> float:
    """Linear warm-up then cosine decay, over the fraction of training done."""
    if warmup > 0 and progress < warmup:
        return max(progress / warmup, 1e-3)
    span = max(1e-9, 1.0 - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (progress - warmup) / span)))


class _Run:
    """The mutable state of one loop; a class so the epoch pieces read top to bottom."""

    def __init__(
        self,
        spec: LoopSpec,
        config: TrainConfig,
        store: CheckpointStore | None,
        progress: Progress,
        cancel: CancelToken,
        controls: TrainControls,
        on_event: Callable[[TrainEvent], None],
        faults: Faults,
    ) -> None:
        import torch

        self.spec, self.config, self.store = spec, config, store
        self.progress, self.cancel, self.controls = progress, cancel, controls
        self.on_event, self.faults = on_event, faults
        self.world = distributed.world_from_env()
        self.model = distributed.wrap(spec.model, self.world, spec.device)
        self.optimizer = torch.optim.AdamW(
            spec.trainable, lr=config.learning_rate, weight_decay=config.weight_decay
        )
        self.train_loss = torch.nn.CrossEntropyLoss(
            weight=spec.class_weights, label_smoothing=config.label_smoothing
        )
        self.scaler = torch.amp.GradScaler("cuda") if spec.amp_dtype == torch.float16 else None
        self.batch_size = int(config.batch_size)
        self.epoch = 0
        self.global_step = 0
        self.history: list[dict[str, Any]] = []
        self.best_loss = math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self.best_state: dict[str, Any] | None = None
        self.best_probs: np.ndarray | None = None
        self.notes: list[Message] = []
        self.resumed_from: int | None = None
        self.rate: float | None = None  # items per second, smoothed
        self.first_loss: float | None = None

    # -- helpers ---------------------------------------------------------------
    def steps_per_epoch(self) -> int:
        per_rank = len(self.spec.train_labels) // max(1, self.world.size)
        return max(1, math.ceil(per_rank / self.batch_size))

    def note(self, message: Message) -> None:
        self.notes.append(message)
        log.info("%s", message.text())
        self.on_event(TrainEvent("note", epoch=self.epoch, epochs=self.config.epochs, note=message))

    def model_state(self) -> dict[str, Any]:
        return {k: v.detach().cpu().clone() for k, v in self.spec.model.state_dict().items()}

    def gpu_memory(self) -> int | None:
        import torch

        if self.spec.device.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.spec.device))
        return None

    def may_run_out_of_memory(self) -> bool:
        return self.spec.device.type == "cuda" or bool(self.faults.oom_at_steps)

    def move(self, batch: Any) -> Any:
        if self.spec.to_device is not None:
            return self.spec.to_device(batch, self.spec.device)
        import torch

        batch = batch.to(self.spec.device, non_blocking=True)
        if self.spec.channels_last and batch.dim() == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    # -- one epoch -------------------------------------------------------------
    def train_epoch(self) -> tuple[float, float]:
        import torch

        self.model.train()
        generator = torch.Generator().manual_seed(self.config.seed * 100_003 + self.epoch)
        order = torch.randperm(len(self.spec.train_labels), generator=generator).tolist()
        order = distributed.shard(order, self.world)
        steps = self.steps_per_epoch()
        total_loss = total_correct = seen = 0.0
        last_event = 0.0
        for step, (inputs, labels) in enumerate(
            self.spec.batches("train", order, self.batch_size, self.epoch), start=1
        ):
            self.controls.wait_if_paused(self.cancel)
            self.cancel.raise_if_cancelled()
            started = time.perf_counter()
            self.faults.before_step(self.global_step)
            progress = (self.epoch + (step - 1) / steps) / self.config.epochs
            for group in self.optimizer.param_groups:
                group["lr"] = self.config.learning_rate * lr_factor(
                    progress, self.config.warmup_fraction
                )
            loss_value, correct, count = self.step(self.move(inputs), labels.to(self.spec.device))
            total_loss += loss_value * count
            total_correct += correct
            seen += count
            self.global_step += 1
            elapsed = time.perf_counter() - started
            rate = count * self.world.size / max(elapsed, 1e-6)
            self.rate = rate if self.rate is None else 0.9 * self.rate + 0.1 * rate
            now = time.monotonic()
            if now - last_event >= EVENT_INTERVAL_S or step == steps:
                last_event = now
                self.report_step(step, steps, total_loss / seen, total_correct / seen)
        if seen == 0:
            return math.nan, math.nan
        return total_loss / seen, total_correct / seen

    def step(self, inputs: Any, labels: Any) -> tuple[float, float, int]:
        import torch

        autocast = torch.autocast(
            self.spec.device.type,
            dtype=self.spec.amp_dtype,
            enabled=self.spec.amp_dtype is not None,
        )
        with autocast:
            logits = self.model(inputs)
        loss = self.train_loss(logits.float(), labels)
        loss = self.faults.corrupt_loss(self.global_step, loss)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()
        correct = (logits.detach().argmax(dim=1) == labels).sum()
        loss_value, correct_value = torch.stack([loss.detach().float(), correct.float()]).tolist()
        check_loss(self, loss_value)  # before the step: bad gradients never reach the weights
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.spec.trainable, 10.0)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        return loss_value, correct_value, int(labels.shape[0])

    def report_step(self, step: int, steps: int, loss: float, accuracy: float) -> None:
        epochs = self.config.epochs
        remaining = (epochs - self.epoch - 1) * steps + (steps - step)
        eta = remaining * self.batch_size * self.world.size / self.rate if self.rate else None
        done = self.epoch * steps + step
        self.progress(
            done,
            epochs * steps,
            Message(
                MSG_EPOCH, {"epoch": format_number(self.epoch + 1), "epochs": format_number(epochs)}
            ).text(),
        )
        self.on_event(
            TrainEvent(
                "step",
                epoch=self.epoch + 1,
                epochs=epochs,
                step=step,
                steps=steps,
                global_step=self.global_step,
                loss=loss,
                accuracy=accuracy,
                items_per_s=self.rate,
                eta_s=eta,
                gpu_memory_bytes=self.gpu_memory(),
                batch_size=self.batch_size,
            )
        )

    def validate(self) -> tuple[float, float, np.ndarray]:
        import torch

        model = self.spec.model
        model.eval()
        order = list(range(len(self.spec.val_labels)))
        chunks, loss_sum = [], 0.0
        with torch.no_grad():
            for inputs, labels in self.spec.batches(
                "validation", order, self.batch_size, self.epoch
            ):
                self.cancel.raise_if_cancelled()
                with torch.autocast(
                    self.spec.device.type,
                    dtype=self.spec.amp_dtype,
                    enabled=self.spec.amp_dtype is not None,
                ):
                    logits = model(self.move(inputs)).float()
                labels = labels.to(self.spec.device)
                loss_sum += float(
                    torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
                )
                chunks.append(torch.softmax(logits, dim=1).cpu().numpy())
        probs = (
            np.concatenate(chunks) if chunks else np.zeros((0, self.spec.num_classes), np.float32)
        )
        count = max(1, len(order))
        accuracy = (
            float((probs.argmax(axis=1) == self.spec.val_labels).mean()) if len(probs) else 0.0
        )
        return loss_sum / count, accuracy, probs.astype(np.float32)

    # -- the whole run ---------------------------------------------------------
    def run(self) -> LoopOutcome:
        # Cancel and pause also act inside a forward pass: a CPU fine-tuning step can
        # take seconds, and a user who presses Cancel expects it to stop now.
        hooks = [
            module.register_forward_pre_hook(self._between_layers)
            for name, module in self.spec.model.named_modules()
            if name and name.count(".") <= 1
        ]
        try:
            with cpu_threads_for(self.spec):
                return self._run()
        finally:
            for hook in hooks:
                hook.remove()

    def _between_layers(self, _module, _inputs) -> None:
        self.cancel.raise_if_cancelled()

    def _run(self) -> LoopOutcome:
        resume(self)
        while self.epoch < self.config.epochs and self.bad_epochs < self.config.patience:
            loss, accuracy = with_backoff(self, self.train_epoch, self.may_run_out_of_memory())
            val_loss, val_accuracy, probs = self.validate()
            if not math.isfinite(val_loss):
                raise UserError(MSG_DIVERGED, step=self.global_step, loss="NaN")
            self.epoch += 1
            if val_loss < self.best_loss - 1e-6 or self.best_state is None:
                self.best_loss, self.best_epoch, self.bad_epochs = val_loss, self.epoch, 0
                self.best_state, self.best_probs = self.model_state(), probs
            else:
                self.bad_epochs += 1
            record = {
                "epoch": self.epoch,
                "loss": loss,
                "accuracy": accuracy,
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
                "batch_size": self.batch_size,
            }
            self.history.append(record)
            save_checkpoint(self)
            self.on_event(
                TrainEvent(
                    "epoch",
                    epoch=self.epoch,
                    epochs=self.config.epochs,
                    loss=loss,
                    accuracy=accuracy,
                    val_loss=val_loss,
                    val_accuracy=val_accuracy,
                    items_per_s=self.rate,
                    gpu_memory_bytes=self.gpu_memory(),
                    batch_size=self.batch_size,
                    best_epoch=self.best_epoch,
                    global_step=self.global_step,
                )
            )
        if self.bad_epochs >= self.config.patience and self.epoch < self.config.epochs:
            self.note(Message(MSG_EARLY_STOP, {"epoch": self.epoch, "best": self.best_epoch}))
        assert self.best_state is not None and self.best_probs is not None
        return LoopOutcome(
            self.best_state,
            self.best_epoch,
            self.best_probs,
            self.history,
            self.resumed_from,
            self.notes,
            self.batch_size,
        )


def run_loop(
    spec: LoopSpec,
    config: TrainConfig,
    store: CheckpointStore | None,
    progress: Progress,
    cancel: CancelToken,
    controls: TrainControls | None = None,
    on_event: Callable[[TrainEvent], None] | None = None,
    faults: Faults | None = None,
) -> LoopOutcome:
    """Train ``spec.model`` per ``config`` (resolved); returns the best epoch's weights."""
    run = _Run(
        spec,
        config,
        store,
        progress,
        cancel,
        controls or TrainControls(),
        on_event or (lambda event: None),
        faults or Faults.from_env(),
    )
    return run.run()
