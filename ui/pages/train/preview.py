"""A dialog showing eight augmented versions of a training picture, as fine-tuning sees them.

Users switch augmentations on and off without knowing what "colour jitter"
does to their data; seeing it (a mirrored text sign, a crop that cuts off the
object) is what makes the choice informed.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QGridLayout, QLabel, QVBoxLayout, QWidget

from engine.core.i18n import _
from engine.training.config import TrainConfig
from ui.worker import JobWorker

TILE = 150


def _pixmap(pixels: np.ndarray) -> QPixmap:
    pixels = np.ascontiguousarray(pixels)
    height, width, _channels = pixels.shape
    image = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image).scaled(
        TILE, TILE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


class AugmentationPreview(QDialog):
    def __init__(self, path: str, config: TrainConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("augmentationPreview")
        self.setWindowTitle(_("Augmented images"))
        self.caption = QLabel(
            _("How fine-tuning sees “{name}” in eight different epochs:").format(
                name=path.replace("\\", "/").rsplit("/", 1)[-1]
            )
        )
        self.caption.setWordWrap(True)
        self.grid = QGridLayout()
        self.tiles = [QLabel() for _ in range(8)]
        for index, tile in enumerate(self.tiles):
            tile.setFixedSize(TILE, TILE)
            tile.setAlignment(Qt.AlignmentFlag.AlignCenter)
            tile.setStyleSheet("background: #eee;")
            self.grid.addWidget(tile, index // 4, index % 4)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addLayout(self.grid)
        layout.addWidget(buttons)

        def job(progress, cancel):
            from engine.training.image_data import augmentation_preview

            return augmentation_preview(path, config, count=len(self.tiles))

        self.worker = JobWorker(job, "augmentation-preview", self)
        self.worker.finished.connect(self.show_images)
        self.worker.failed.connect(lambda message, _details: self.caption.setText(message))
        self.worker.start()

    def show_images(self, images: list[np.ndarray]) -> None:
        for tile, pixels in zip(self.tiles, images, strict=False):
            tile.setPixmap(_pixmap(pixels))

    def done(self, result: int) -> None:
        self.worker.cancel()
        self.worker.wait()
        super().done(result)
