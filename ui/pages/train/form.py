"""The training settings form: mode, starting point, epochs, device and the fine-tune options.

Fields left at "Automatic" use the mode's defaults (``TrainConfig.resolved``),
so a first-time user only picks a mode and presses Train. The starting point is
the built-in model or a local Hugging Face folder, validated when it is chosen
(``engine.models.backbones.local_folder.inspect_folder``) so that a hostile or broken
folder is refused before a run starts.
"""

from __future__ import annotations

from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import _
from engine.core.jobs import UserError
from engine.training.config import DEFAULT_MODE, MODE_NAMES, TrainConfig
from ui.errors import show_error
from ui.retranslate import Retranslatable
from ui.settings import device_preference

MODES = {"image": ("fast", "finetune"), "text": ("instant", "fast", "finetune")}


def _auto_spin(maximum: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, maximum)  # 0 shows the "Automatic" special text
    return spin


def _narrow_combo() -> QComboBox:
    """A combo box whose long entries (translated, 40% longer) never widen the form."""
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(12)
    return combo


class WrapCheck(QWidget):
    """A check box whose text wraps onto several lines instead of widening the form."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QCheckBox()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setBuddy(self.box)
        self.label.mousePressEvent = lambda _event: self.box.toggle()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.box, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.label, 1)
        self.toggled = self.box.toggled

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self.label.setText(text)
        self.box.setAccessibleName(text)

    def text(self) -> str:
        return self.label.text()

    def setChecked(self, checked: bool) -> None:  # noqa: N802 - Qt's name
        self.box.setChecked(checked)

    def isChecked(self) -> bool:  # noqa: N802 - Qt's name
        return self.box.isChecked()


class TrainForm(Retranslatable, QWidget):
    preview_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("modelName")
        self.task = "image"
        self.mode_combo = _narrow_combo()
        for mode in MODES[self.task]:
            self.mode_combo.addItem("", mode)
        self.mode_combo.currentIndexChanged.connect(self._mode_changed)
        self.mode_hint = QLabel()
        self.mode_hint.setWordWrap(True)
        self.mode_hint.setMinimumWidth(160)  # wraps at any width: never sets the form's width
        self.mode_hint.setStyleSheet("color: #555;")
        self.backbone_combo = _narrow_combo()
        self.backbone_combo.setObjectName("backboneCombo")
        self.backbone_combo.addItem("", None)
        self.backbone_button = QPushButton()
        self.backbone_button.clicked.connect(self.choose_backbone)
        backbone_row = QVBoxLayout()  # one above the other: narrow windows keep both whole
        backbone_row.addWidget(self.backbone_combo)
        backbone_row.addWidget(self.backbone_button, 0, Qt.AlignmentFlag.AlignLeading)
        self.backbone_row = QWidget()
        self.backbone_row.setLayout(backbone_row)
        backbone_row.setContentsMargins(0, 0, 0, 0)
        self.epochs_spin = _auto_spin(1000)
        self.batch_spin = _auto_spin(4096)
        self.rate_spin = QDoubleSpinBox()
        self.rate_spin.setDecimals(5)
        self.rate_spin.setRange(0.0, 1.0)
        self.rate_spin.setSingleStep(0.0005)
        self.device_combo = _narrow_combo()
        for device in ("auto", "cpu", "cuda", "mps"):
            self.device_combo.addItem("", device)
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(device_preference())))
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)

        self.general = QGroupBox()
        general = QFormLayout(self.general)
        general.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.labels = {
            key: QLabel()
            for key in (
                "name",
                "mode",
                "epochs",
                "batch",
                "rate",
                "device",
                "seed",
                "blocks",
                "backbone",
            )
        }
        for label in self.labels.values():
            label.setWordWrap(True)
        general.addRow(self.labels["name"], self.name_edit)
        general.addRow(self.labels["mode"], self.mode_combo)
        general.addRow(self.mode_hint)
        general.addRow(self.labels["backbone"], self.backbone_row)
        general.addRow(self.labels["epochs"], self.epochs_spin)
        general.addRow(self.labels["batch"], self.batch_spin)
        general.addRow(self.labels["rate"], self.rate_spin)
        general.addRow(self.labels["device"], self.device_combo)
        general.addRow(self.labels["seed"], self.seed_spin)

        self.finetune = QGroupBox()
        self.blocks_combo = _narrow_combo()
        self.blocks_combo.addItem("", "all")
        self.blocks_combo.addItem("", "top")
        self.weighting_check = WrapCheck()
        self.weighting_check.setChecked(True)
        self.crop_check, self.flip_check, self.color_check = WrapCheck(), WrapCheck(), WrapCheck()
        for check in (self.crop_check, self.flip_check, self.color_check):
            check.setChecked(True)
        self.preview_button = QPushButton()
        self.preview_button.clicked.connect(self.preview_requested)
        finetune = QFormLayout(self.finetune)
        finetune.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        finetune.addRow(self.labels["blocks"], self.blocks_combo)
        finetune.addRow(self.weighting_check)
        for check in (self.crop_check, self.flip_check, self.color_check):
            finetune.addRow(check)
        finetune.addRow(self.preview_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.general)
        layout.addWidget(self.finetune)
        layout.addStretch(1)
        self.retranslate_ui()
        self._mode_changed()

    @property
    def mode(self) -> str:
        return self.mode_combo.currentData()

    def set_task(self, task: str) -> None:
        """Offer the modes of ``task`` ("image" or "text"), keeping the mode when it exists."""
        if task == self.task:
            return
        self.task, mode = task, DEFAULT_MODE[task]  # the same default as the command line
        self.mode_combo.blockSignals(True)
        self.mode_combo.clear()
        for name in MODES[task]:
            self.mode_combo.addItem(_(MODE_NAMES[name]), name)
        self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findData(mode)))
        self.mode_combo.blockSignals(False)
        while self.backbone_combo.count() > 1:  # a folder was checked for the other task
            self.backbone_combo.removeItem(1)
        self._mode_changed()

    def choose_backbone(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, _("Choose a Hugging Face model folder"))
        if folder:
            self.set_backbone(folder)

    def set_backbone(self, folder: str) -> bool:
        """Check ``folder`` for the current task and make it the starting point; a folder
        Taxon must refuse (custom code, pickled weights...) shows why and changes nothing."""
        from engine.models.backbones.local_folder import inspect_folder

        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # hashing large weights
        try:
            model = inspect_folder(folder, self.task)
        except UserError as error:
            show_error(self, error.message, error.details)
            return False
        finally:
            QApplication.restoreOverrideCursor()
        while self.backbone_combo.count() > 1:
            self.backbone_combo.removeItem(1)
        self.backbone_combo.addItem(model.name, str(model.path))
        self.backbone_combo.setItemData(1, str(model.path), Qt.ItemDataRole.ToolTipRole)
        self.backbone_combo.setCurrentIndex(1)
        return True

    def _mode_changed(self) -> None:
        self.finetune.setVisible(self.mode == "finetune")
        for widget in (self.labels["backbone"], self.backbone_row):
            widget.setVisible(self.mode != "instant")
        for widget in (
            self.blocks_combo,
            self.labels["blocks"],
            self.crop_check,
            self.flip_check,
            self.color_check,
            self.preview_button,
        ):
            widget.setVisible(self.task == "image")
        self._retranslate_hint()

    def config(self) -> TrainConfig:
        return TrainConfig(
            mode=self.mode,
            epochs=self.epochs_spin.value() or None,
            batch_size=self.batch_spin.value() or None,
            learning_rate=self.rate_spin.value() or None,
            device=self.device_combo.currentData(),
            seed=self.seed_spin.value(),
            train_blocks=self.blocks_combo.currentData(),
            class_weighting=self.weighting_check.isChecked(),
            augment_crop=self.crop_check.isChecked(),
            augment_flip=self.flip_check.isChecked(),
            augment_color=self.color_check.isChecked(),
            backbone=self.backbone_combo.currentData() if self.mode != "instant" else None,
        )

    def _retranslate_hint(self) -> None:
        hints = {
            ("image", "fast"): _(
                "Seconds for a thousand images: the built-in model looks at each "
                "image as it is, and a small layer on top of what it sees learns "
                "your classes (frozen features and a linear head). A good first "
                "try."
            ),
            ("image", "finetune"): _(
                "Trains the whole network on your images (fine-tuning). Slower "
                "(minutes to hours; a GPU helps a lot), often more accurate "
                "on images unlike everyday photos."
            ),
            ("text", "instant"): _(
                "Seconds, even for {rows} rows: learns which letter patterns "
                "mark each class (character n-grams and a linear model). Works "
                "in any script, but only in the languages of your examples."
            ),
            ("text", "fast"): _(
                "Reads the texts with a multilingual language model and learns your "
                "classes with a small layer on top (multilingual-e5-small vectors "
                "and a linear head): a model trained on English examples also "
                "classifies Spanish, Chinese or Arabic."
            ),
            ("text", "finetune"): _(
                "Trains the multilingual language model itself (fine-tuning). "
                "Slow without a GPU; usually the most accurate."
            ),
        }
        hint = hints.get((self.task, self.mode), "")
        self.mode_hint.setText(hint.format(rows=i18n.format_number(100_000)))

    def retranslate_ui(self) -> None:
        for spin in self.findChildren(QAbstractSpinBox):  # digits follow the new language
            spin.setLocale(QLocale())
        self.general.setTitle(_("Training settings"))
        self.finetune.setTitle(_("Fine-tuning"))
        texts = {
            "name": _("Model name"),
            "mode": _("Mode"),
            "epochs": _("Epochs (at most)"),
            "batch": _("Batch size"),
            "rate": _("Learning rate"),
            "device": _("Device"),
            "seed": _("Random seed"),
            "blocks": _("Layers to train"),
            "backbone": _("Starting point"),
        }
        for key, label in self.labels.items():
            label.setText(texts[key])
        for index, mode in enumerate(MODES[self.task]):
            self.mode_combo.setItemText(index, _(MODE_NAMES[mode]))
        for spin in (self.epochs_spin, self.batch_spin):
            spin.setSpecialValueText(_("Automatic"))
        self.rate_spin.setSpecialValueText(_("Automatic"))
        for index, text in enumerate(
            (
                _("Automatic (GPU when available)"),
                _("CPU"),
                _("NVIDIA GPU (CUDA)"),
                _("Apple GPU (MPS)"),
            )
        ):
            self.device_combo.setItemText(index, text)
        self.backbone_combo.setItemText(0, _("Built-in model"))
        self.backbone_button.setText(_("Choose a folder…"))
        self.blocks_combo.setItemText(0, _("The whole network"))
        self.blocks_combo.setItemText(1, _("Only the top layers (faster)"))
        self.weighting_check.setText(_("Balance rare classes (class weights)"))
        self.crop_check.setText(_("Random crops"))
        self.flip_check.setText(_("Mirror images"))
        self.color_check.setText(_("Colour changes"))
        self.preview_button.setText(_("Preview augmented images…"))
        self.name_edit.setPlaceholderText(_("e.g. Leaf diseases"))
        self._retranslate_hint()
