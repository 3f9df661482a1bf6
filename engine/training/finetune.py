"""The one fine-tune body: the built-in image model, a local image folder and text models.

Every fine-tune seeds, builds a network, picks what trains, moves it to the
device, sets up the loop (mixed precision, class weights, channels-last) and
frees the GPU afterwards, whatever happened; what really differs between them
is described by a ``Network``. One body means a fix to any of these steps
(freeing memory after a failed run, the autocast dtype) reaches all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.training.config import amp_dtype
from engine.training.head import loss_weights
from engine.training.loop import Batches, LoopSpec
from engine.training.run import Trained, TrainRun


@dataclass
class Network:
    """What one fine-tune path trains, built on the CPU after the run's seed is set."""

    model: Any  # torch.nn.Module: inputs -> logits
    trainable: list[Any]
    batches: Batches
    #: The model's state names start with this (its wrapper); the package's names do not.
    state_prefix: str = ""
    #: Files the package needs besides the tensors (the network's config, its tokenizer).
    files: dict[str, bytes] | None = None
    channels_last: bool = False  # images on CUDA: faster convolutions
    to_device: Callable[[Any, Any], Any] | None = None  # moves a batch that is not a tensor
    close: Callable[[], None] | None = None  # stops the batches' worker processes


def finetune(
    run: TrainRun,
    build: Callable[[], Network],
    *,
    kind: str,
    backbone: dict[str, Any],
    preprocess: dict[str, Any] | None,
) -> Trained:
    """Train the network ``build`` returns through the shared loop; the best epoch's weights."""
    import torch

    prepared, device = run.prepared, run.device
    torch.manual_seed(run.config.seed)
    target = torch.device(device.torch_device)
    network = build()
    model = network.model.to(target)
    if network.channels_last:
        model = model.to(memory_format=torch.channels_last)
    weights = loss_weights(prepared, run.config)
    spec = LoopSpec(
        model,
        network.trainable,
        network.batches,
        prepared.train_y,
        prepared.val_y,
        len(prepared.labels),
        target,
        weights.to(target) if weights is not None else None,
        amp_dtype(run.config, device),
        channels_last=network.channels_last,
        to_device=network.to_device,
    )
    files, prefix, close = network.files, network.state_prefix, network.close
    del network  # the loop's spec holds the model: freed with it below
    try:
        outcome = run.loop(spec)
    finally:
        if close is not None:
            close()
        del model, spec
        if device.kind == "cuda":
            torch.cuda.empty_cache()
    tensors = {name[len(prefix) :]: value for name, value in outcome.best_state.items()}
    return Trained(prepared, outcome, tensors, kind, backbone, preprocess, files)
