"""Pixels for fine-tuning: decoding, augmentation, batches, and the augmentation preview.

Training pictures go through random resized crop, horizontal flip and colour
jitter (each switchable); validation pictures go through exactly the decode the
classifier uses later (``engine.data.images.decode_for_model``), so validation
numbers predict what the user will see. A file that fails to decode mid-run
gives a blank picture with label -100, which the loss ignores: one bad file
never stops a long run (files are checked before training starts anyway).
"""

from __future__ import annotations

import multiprocessing
import os
import random
from collections.abc import Iterator
from typing import Any

import numpy as np

from engine.core.workers import start_method
from engine.models.backbones import efficientnet_lite0 as lite0
from engine.training.config import TrainConfig

IGNORE = -100


class PictureSet:
    """A torch-style dataset of (CHW float tensor, label) pairs; picklable for workers."""

    def __init__(
        self,
        items: list[str],
        labels: np.ndarray,
        train: bool,
        config: TrainConfig,
        size: int = lite0.INPUT_SIZE,
        shorter: int = lite0.RESIZE_SHORTER,
    ) -> None:
        self.items, self.labels, self.train = list(items), np.asarray(labels), train
        self.size, self.shorter = size, shorter
        self.crop, self.flip, self.color = (
            config.augment_crop,
            config.augment_flip,
            config.augment_color,
        )
        self._transform = None

    def __len__(self) -> int:
        return len(self.items)

    def transform(self):
        if self._transform is None:
            from torchvision.transforms import v2

            steps: list[Any] = []
            if self.train and self.crop:
                steps.append(v2.RandomResizedCrop(self.size, scale=(0.35, 1.0), antialias=True))
            else:
                steps += [v2.Resize(self.shorter, antialias=True), v2.CenterCrop(self.size)]
            if self.train and self.flip:
                steps.append(v2.RandomHorizontalFlip())
            if self.train and self.color:
                steps.append(v2.ColorJitter(0.3, 0.3, 0.3, 0.03))
            self._transform = v2.Compose(steps)
        return self._transform

    def pixels(self, index: int) -> np.ndarray:
        """uint8 HWC pixels of one example as the network will see them (augmented if training)."""
        import torch

        from engine.data.images import MAX_ASPECT_RATIO, decode_for_model, load_rgb

        path = self.items[index]
        if not self.train:
            return decode_for_model(path, self.size, self.shorter).pixels
        image = load_rgb(path, self.shorter, max_aspect_ratio=MAX_ASPECT_RATIO)
        tensor = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)
        return self.transform()(tensor).permute(1, 2, 0).numpy()

    def __getitem__(self, index: int):
        import torch

        try:
            pixels = self.pixels(index)
            label = int(self.labels[index])
        except Exception:  # noqa: BLE001 - a file that broke since the pre-check
            pixels = np.zeros((self.size, self.size, 3), np.uint8)
            label = IGNORE
        tensor = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).float()
        tensor = tensor / 127.5 - 1.0  # mean = std = 0.5, as the built-in preprocessing
        return tensor, label


class _Order:
    """A sampler whose order the loop replaces each epoch (persistent workers keep running)."""

    def __init__(self) -> None:
        self.order: list[int] = []

    def __iter__(self) -> Iterator[int]:
        return iter(list(self.order))

    def __len__(self) -> int:
        return len(self.order)


def _seed_worker(worker_id: int) -> None:
    import torch

    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


class PictureBatches:
    """``batches(split, order, batch_size, epoch)`` for the loop, over DataLoaders."""

    def __init__(
        self, train: PictureSet, validation: PictureSet, workers: int, pin: bool, seed: int
    ) -> None:
        self.sets = {"train": train, "validation": validation}
        self.workers, self.pin, self.seed = workers, pin, seed
        self.loaders: dict[tuple[str, int], tuple[Any, _Order]] = {}

    def __call__(self, split: str, order: list[int], batch_size: int, epoch: int):
        import torch

        key = (split, batch_size)
        if key not in self.loaders:
            sampler = _Order()
            context = multiprocessing.get_context(start_method()) if self.workers else None
            loader = torch.utils.data.DataLoader(
                self.sets[split],
                batch_size=batch_size,
                sampler=sampler,
                num_workers=self.workers,
                pin_memory=self.pin,
                persistent_workers=self.workers > 0,
                multiprocessing_context=context,
                worker_init_fn=_seed_worker if self.workers else None,
            )
            self.loaders[key] = (loader, sampler)
        loader, sampler = self.loaders[key]
        sampler.order = order
        if self.workers:
            # The seed of each epoch's worker RNGs: reproducible, different per epoch.
            loader.generator = torch.Generator().manual_seed(self.seed * 7919 + epoch)
        return loader

    def close(self) -> None:
        for loader, _sampler in self.loaders.values():
            iterator = getattr(loader, "_iterator", None)
            if iterator is not None and hasattr(iterator, "_shutdown_workers"):
                iterator._shutdown_workers()
        self.loaders.clear()


def default_workers(device_kind: str) -> int:
    cpus = os.cpu_count() or 1
    if device_kind == "cuda":
        return max(1, min(8, cpus - 1))
    return 0 if cpus <= 2 else min(4, cpus // 2)


def loader_workers(config: TrainConfig, device_kind: str) -> int:
    """The user's worker count (``--workers``), else what suits the device."""
    return config.workers if config.workers is not None else default_workers(device_kind)


def augmentation_preview(
    path: str, config: TrainConfig, count: int = 8, seed: int = 0
) -> list[np.ndarray]:
    """``count`` augmented versions of one picture (uint8 HWC), as training will see them."""
    import torch

    picture = PictureSet([path], np.zeros(1, np.int64), train=True, config=config)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return [picture.pixels(0) for _ in range(count)]
