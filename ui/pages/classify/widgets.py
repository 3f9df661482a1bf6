"""The Classify page's building blocks: drop zone, results table, confidence bar, detail
panel, and the background loader that decodes thumbnails again once the bounded cache
dropped them."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import (
    QAbstractItemModel,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.core import i18n
from engine.core.i18n import _
from ui.drops import local_paths
from ui.flow_layout import FlowLayout
from ui.pages.classify import text_results as text_columns
from ui.pages.classify.results_model import (
    COLUMN_CONFIDENCE,
    COLUMN_FILE,
    COLUMN_IMAGE,
    COLUMN_LABEL,
    ROW_ROLE,
    THUMB,
    ResultRow,
)
from ui.retranslate import Retranslatable
from ui.scroll import VerticalScrollArea

#: Thumbnail side in the results table.


class ResultButtons:
    """Export (as CSV or JSON) and Clear, the same on the image and the text panel: mixed
    into both, which lay the buttons out and have a ``clear`` method."""

    def build_result_buttons(self, export: Callable[[str], None]) -> None:
        self.export_button = QToolButton()
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_menu = QMenu(self)
        self.export_csv_action = self.export_menu.addAction("", lambda: export("csv"))
        self.export_json_action = self.export_menu.addAction("", lambda: export("json"))
        self.export_button.setMenu(self.export_menu)
        self.clear_button = QPushButton()
        self.clear_button.clicked.connect(self.clear)

    def retranslate_result_buttons(self) -> None:
        self.export_button.setText(_("Export"))
        self.export_csv_action.setText(_("Export as CSV…"))
        self.export_json_action.setText(_("Export as JSON…"))
        self.clear_button.setText(_("Clear"))


class DropZone(Retranslatable, QFrame):
    """A large target for files, folders and image data, with Open and Paste buttons."""

    paths_dropped = Signal(list)
    image_dropped = Signal(QImage)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dropZone")
        self.setAcceptDrops(True)
        self.setMinimumHeight(130)
        self._set_highlight(False)
        self.title = QLabel()
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)  # a long language must not widen the window
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        self.title.setFont(font)
        self.hint = QLabel()
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.open_files_button = QPushButton()
        self.open_folder_button = QPushButton()
        self.paste_button = QPushButton()
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.open_files_button, self.open_folder_button, self.paste_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.retranslate_ui()

    def _set_highlight(self, on: bool) -> None:
        colour = "#2f6fba" if on else "#8a96a8"
        background = "rgba(47,111,186,0.10)" if on else "transparent"
        self.setStyleSheet(
            f"#dropZone {{ border: 2px dashed {colour}; border-radius: 10px; "
            f"background: {background}; }}"
        )

    def retranslate_ui(self) -> None:
        self.title.setText(_("Drop images or folders here"))
        self.hint.setText(
            _("JPEG, PNG, WebP, GIF, BMP and TIFF. Folders are searched, sub-folders too.")
        )
        self.open_files_button.setText(_("Open images…"))
        self.open_folder_button.setText(_("Open folder…"))
        self.paste_button.setText(_("Paste"))

    # -- drag and drop ------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        mime = event.mimeData()
        if local_paths(mime) or mime.hasImage():
            event.acceptProposedAction()
            self._set_highlight(True)

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        self._set_highlight(False)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self._set_highlight(False)
        mime = event.mimeData()
        paths = local_paths(mime)
        if paths:
            self.paths_dropped.emit(paths)
        elif mime.hasImage():
            self.image_dropped.emit(QImage(mime.imageData()))
        else:
            return
        event.acceptProposedAction()


def wrapping_row(*groups: tuple[QWidget, ...]) -> QWidget:
    """A row of widget groups that wraps group by group onto more rows where one row would
    widen the window (a long language, a narrow window); each group stays together."""
    row = QWidget()
    flow = FlowLayout(row)
    for group in groups:
        box = QWidget()
        box_layout = QHBoxLayout(box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        for widget in group:
            box_layout.addWidget(widget)
        flow.addWidget(box)
    return row


def results_table(proxy: QAbstractItemModel) -> QTableView:
    """The image results: a thumbnail per row, sorted by file name until a header is clicked."""
    table = QTableView()
    table.setObjectName("resultsTable")
    table.setModel(proxy)
    table.setSortingEnabled(True)
    table.sortByColumn(COLUMN_FILE, Qt.SortOrder.AscendingOrder)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setIconSize(QSize(THUMB, THUMB))
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(THUMB + 8)
    table.setItemDelegateForColumn(COLUMN_CONFIDENCE, ConfidenceDelegate(table))
    header = table.horizontalHeader()
    header.setSectionResizeMode(COLUMN_IMAGE, QHeaderView.ResizeMode.Fixed)
    header.resizeSection(COLUMN_IMAGE, THUMB + 12)
    header.setSectionResizeMode(COLUMN_FILE, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(COLUMN_LABEL, QHeaderView.ResizeMode.Stretch)
    header.resizeSection(COLUMN_CONFIDENCE, 150)
    return table


def text_results_table(proxy: QAbstractItemModel) -> QTableView:
    """The text results, one line each."""
    table = QTableView()
    table.setObjectName("textResultsTable")
    table.setModel(proxy)
    # Unsorted (the order added) until the user clicks a header: sorting a big table
    # through Python on every insert would stall the window for seconds.
    table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    table.setSortingEnabled(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.setItemDelegateForColumn(text_columns.COLUMN_CONFIDENCE, ConfidenceDelegate(table))
    header = table.horizontalHeader()
    header.setSectionResizeMode(text_columns.COLUMN_TEXT, QHeaderView.ResizeMode.Stretch)
    for column, width in (
        (text_columns.COLUMN_SOURCE, 110),
        (text_columns.COLUMN_LABEL, 100),
        (text_columns.COLUMN_CONFIDENCE, 110),
        (text_columns.COLUMN_LANGUAGE, 90),
    ):
        header.resizeSection(column, width)
    return table


def fit_image_column(table: QTableView) -> None:
    """The thumbnail column is as wide as a thumbnail, or as its title where that is wider
    (Russian "Изображение" was cut to "Изображени")."""
    header = table.horizontalHeader()
    title = str(table.model().headerData(COLUMN_IMAGE, Qt.Orientation.Horizontal) or "")
    width = (
        header.fontMetrics().horizontalAdvance(title)
        + 2 * header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin)
        + 8
    )
    header.resizeSection(COLUMN_IMAGE, max(THUMB + 12, width))


class ConfidenceDelegate(QStyledItemDelegate):
    """Draws the score as a progress bar with the percentage, in the view's direction."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        # QStyle's many enums cost ~11 ms to create: only when the first row is painted.
        from PySide6.QtWidgets import QStyle, QStyleOptionProgressBar

        row: ResultRow = index.data(ROW_ROLE)
        if row is None or row.score is None:
            super().paint(painter, option, index)
            return
        widget = option.widget
        style = widget.style() if widget else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
        bar = QStyleOptionProgressBar()
        bar.rect = QRect(option.rect.adjusted(4, 6, -4, -6))
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(round(row.score * 1000))
        bar.text = index.data(Qt.ItemDataRole.DisplayRole)
        bar.textVisible = True
        bar.direction = option.direction
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, widget)


def size_note(row: ResultRow) -> str:
    """Why the model may be unsure of this image, from its size alone ("" when nothing
    odd): the same limits as the data-health checks for tiny and extreme images."""
    from engine.data.images import MAX_RELIABLE_ASPECT, MIN_RELIABLE_SIDE

    if not row.width or not row.height:
        return ""
    size = {"width": i18n.format_number(row.width), "height": i18n.format_number(row.height)}
    if min(row.width, row.height) < MIN_RELIABLE_SIDE:
        return _(
            "This image is only {width}×{height} pixels: too little for a sure answer."
        ).format(**size)
    if max(row.width, row.height) / min(row.width, row.height) > MAX_RELIABLE_ASPECT:
        return _(
            "This image is very long and narrow ({width}×{height} pixels). The model expects "
            "roughly square photos, so its answer is less sure."
        ).format(**size)
    return ""


class DetailPanel(Retranslatable, QFrame):
    """The selected result: thumbnail, file, and the top labels with bars."""

    ROWS = 5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailPanel")
        self.setMinimumWidth(220)  # labels wrap: the table keeps room in a narrow window
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._row: ResultRow | None = None
        #: Labels as the UI language reads them (the page sets the model's ``display_label``).
        self.display_label: Callable[[str], str] = str
        self.heading = QLabel()
        self.heading.setStyleSheet("font-weight: 600;")
        self.heading.setWordWrap(True)  # a long hint in a long language wraps, never cuts off
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumHeight(140)
        self.file = QLabel()
        self.file.setWordWrap(True)
        self.file.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.note = QLabel()  # why an odd image's answer is unsure (tiny, long and narrow)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(placeholder-text);")
        grid = QGridLayout()
        self.labels: list[QLabel] = []
        self.bars: list[QProgressBar] = []
        for position in range(self.ROWS):
            label, bar = QLabel(), QProgressBar()
            label.setWordWrap(True)  # a long label must not widen or clip the panel
            bar.setRange(0, 1000)
            bar.setMaximumHeight(16)
            grid.addWidget(label, position * 2, 0)
            grid.addWidget(bar, position * 2 + 1, 0)
            self.labels.append(label)
            self.bars.append(bar)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.heading, self.image, self.file, self.message):
            layout.addWidget(widget)
        layout.addLayout(grid)
        layout.addWidget(self.note)
        layout.addStretch(1)
        # In a short window the panel scrolls rather than squeezing the labels into their
        # bars; what is added below (``layout()``: "Add to dataset…") stays in view.
        outer = QVBoxLayout(self)
        outer.addWidget(VerticalScrollArea(content))
        self.show_row(None, None)
        self.retranslate_ui()

    def show_row(self, row: ResultRow | None, pixmap) -> None:
        self._row = row
        if pixmap is None or pixmap.isNull():
            self.image.clear()
        else:
            self.image.setPixmap(pixmap)
        self.file.setText("" if row is None else "\u2068" + row.path + "\u2069")
        predictions = [] if row is None else row.predictions[: self.ROWS]
        for position in range(self.ROWS):
            visible = position < len(predictions)
            self.labels[position].setVisible(visible)
            self.bars[position].setVisible(visible)
        self.retranslate_ui()

    def retranslate_ui(self) -> None:
        row = self._row
        if row is None:
            heading = _("Select a result to see its top labels.")
        elif row.error:
            heading = _("This file could not be classified:")
        else:
            heading = _("Top labels")
        self.heading.setText(heading)
        self.message.setVisible(bool(row and row.error))
        self.message.setText(row.error if row and row.error else "")
        self.message.setStyleSheet("color: #b3261e;")
        note = size_note(row) if row is not None and not row.error else ""
        self.note.setText(note)
        self.note.setVisible(bool(note))
        predictions = [] if row is None else row.predictions[: self.ROWS]
        for position, (label, score) in enumerate(predictions):
            self.labels[position].setText(
                f"{self.display_label(label)} — {i18n.format_percent(score, 1)}"
            )
            self.labels[position].setToolTip(label if self.display_label(label) != label else "")
            self.bars[position].setValue(int(round(score * 1000)))
            self.bars[position].setFormat(i18n.format_percent(score, 1))
