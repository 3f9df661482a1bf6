"""The prediction service from the window: "Serve…" on the Models page, "Use this model…"
on the Evaluate page.

``ServiceDialog`` starts and stops ``engine.serving.start_server`` for one model:
starting (loading the model, binding, starting decode workers) runs on a
``JobWorker``; the server itself runs on the engine's own thread. It shows the
address, the token (when other computers may connect, which needs one), and
curl and Python examples with Copy buttons. The server stops when the dialog
closes and when the application quits, so no thread outlives it.

``UseModelDialog`` gathers what can be done with a model outside Taxon: the
Models page's export formats (``actions.EXPORT_FORMATS``) and the service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.core.i18n import N_, _
from engine.core.jobs import UserError
from ui.errors import show_error
from ui.pages.models import actions
from ui.retranslate import Retranslatable
from ui.worker import JobWorker

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
LOOPBACK, EVERYWHERE = "127.0.0.1", "0.0.0.0"
MSG_PORT_TAKEN = N_("Port {port} is already in use by another program. Choose another port.")


def curl_example(url: str, task: str, token: str | None) -> str:
    """A curl command classifying one file or one text (code: the same in every language)."""
    auth = f' -H "Authorization: Bearer {token}"' if token else ""
    if task == "text":
        return (
            f'curl{auth} -H "Content-Type: application/json" \\\n'
            f'     -d \'{{"texts": ["Some text to sort"]}}\' {url}/v1/classify'
        )
    return f'curl{auth} -F file=@photo.jpg "{url}/v1/classify?top_k=3"'


def python_example(url: str, task: str, token: str | None) -> str:
    """The same request with Python's standard library only."""
    headers = {"Content-Type": "application/json" if task == "text" else "image/jpeg"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = (
        'json.dumps({"texts": ["Some text to sort"]}).encode()'
        if task == "text"
        else 'open("photo.jpg", "rb").read()'
    )
    return "\n".join(
        [
            "import json, urllib.request",
            "",
            f'request = urllib.request.Request("{url}/v1/classify", data={body},',
            f"                                 headers={headers!r})",
            "with urllib.request.urlopen(request) as response:",
            "    print(json.load(response))",
        ]
    )


class _Example(QWidget):
    """A read-only code block with a Copy button."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self.title = QLabel()
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setObjectName(name + "Text")
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setLayoutDirection(Qt.LayoutDirection.LeftToRight)  # code reads left to right
        self.text.setMaximumHeight(110)
        self.copy = QPushButton()
        self.copy.setObjectName(name + "Copy")
        self.copy.clicked.connect(self.copy_text)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.copy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.text)

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())


class ServiceDialog(Retranslatable, QDialog):
    """Start and stop the local prediction service for one model."""

    def __init__(
        self, model: str | Path, name: str, task: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("serviceDialog")
        self.model, self.name_, self.task = str(model), name, task
        self.handle = None  # engine.serving.ServerHandle while running
        self.worker: JobWorker | None = None
        self._status: Callable[[], str] | None = None
        self._build()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop_now)
        self.retranslate_ui()
        self._update()

    def _build(self) -> None:
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.port = QSpinBox()
        self.port.setObjectName("servicePort")
        self.port.setRange(0, 65535)
        self.port.setValue(DEFAULT_PORT)
        self.others = QCheckBox()
        self.others.setObjectName("serviceOthers")
        self.others.toggled.connect(self._others_toggled)
        self.token = QLineEdit()
        self.token.setObjectName("serviceToken")
        self.token.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        self.token_label = QLabel()
        self.port_label = QLabel()
        form = QFormLayout()
        form.addRow(self.port_label, self.port)
        form.addRow(self.others)
        form.addRow(self.token_label, self.token)
        self.start_button = QPushButton()
        self.start_button.setObjectName("serviceStart")
        self.start_button.clicked.connect(self.toggle)
        self.address = QLabel()
        self.address.setObjectName("serviceAddress")
        self.address.setWordWrap(True)
        self.address.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addWidget(self.address, 1)
        self.curl = _Example("serviceCurl")
        self.python = _Example("servicePython")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.curl)
        layout.addWidget(self.python)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.resize(720, 560)

    # -- running -----------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.handle is not None

    def toggle(self) -> None:
        if self.running:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        """Start the service with the chosen settings (a job: loading takes a moment)."""
        if self.running or self.worker is not None:
            return
        host = EVERYWHERE if self.others.isChecked() else LOOPBACK
        port, model = self.port.value(), self.model
        token = self.token.text().strip() or None if self.others.isChecked() else None

        def run(progress, cancel):
            from engine.serving import start_server
            from engine.serving.server import MSG_PORT_IN_USE

            progress(0, None, "")
            try:
                return start_server(model, host=host, port=port, token=token)
            except UserError as error:
                if error.msgid == MSG_PORT_IN_USE:  # the CLI's wording names --port
                    raise UserError(MSG_PORT_TAKEN, error.details, port=port) from error
                raise

        self.worker = JobWorker(run, name="serve")
        self.worker.finished.connect(self._started)
        self.worker.failed.connect(self._failed)
        self.worker.cancelled.connect(self._ended)
        self._set_status(lambda: _("Starting the service…"))
        self.worker.start()
        self._update()

    def _ended(self) -> None:
        if self.worker is not None:
            self.worker.wait()
        self.worker = None
        self._update()

    def _started(self, handle) -> None:
        self._ended()
        if not self.isVisible():  # closed while starting: stop at once
            handle.stop()
            return
        self.handle = handle
        if handle.token:
            self.token.setText(handle.token)
        self._set_status(None)
        self._show_examples()
        self._update()

    def _failed(self, message: str, details: str) -> None:
        self._ended()
        port = self.port.value()
        if message == _(MSG_PORT_TAKEN).format(port=port):  # said beside the port, no box
            self._set_status(lambda: _(MSG_PORT_TAKEN).format(port=port))
            self.port.setFocus()
            return
        self._set_status(lambda: message)
        show_error(self, message, details)

    def stop(self) -> None:
        """Stop the service (requests under way finish first; a second at most when idle)."""
        handle, self.handle = self.handle, None
        if handle is not None:
            handle.stop(timeout=5.0)
        self._set_status(lambda: _("The service is stopped."))
        self._show_examples()
        self._update()

    def stop_now(self) -> None:
        """On close or quit: wait for a start under way, then stop whatever runs."""
        if self.worker is not None:
            self.worker.wait(60_000)
            self.worker = None
        if self.handle is not None:
            self.stop()

    def done(self, result: int) -> None:  # noqa: D401 - Qt's name; every close goes here
        self.stop_now()
        super().done(result)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.stop_now()
        super().closeEvent(event)

    # -- display -----------------------------------------------------------------
    def url(self) -> str:
        if self.handle is not None:
            return self.handle.url
        host = "YOUR-COMPUTER" if self.others.isChecked() else LOOPBACK
        return f"http://{host}:{self.port.value()}"

    def _others_toggled(self, checked: bool) -> None:
        if checked and not self.token.text().strip():
            from engine.serving.auth import generate_token

            self.token.setText(generate_token())
        self._update()
        self._show_examples()

    def _show_examples(self) -> None:
        token = self.token.text().strip() if self.others.isChecked() else None
        if self.handle is not None:
            token = self.handle.token
        self.curl.text.setPlainText(curl_example(self.url(), self.task, token))
        self.python.text.setPlainText(python_example(self.url(), self.task, token))

    def _set_status(self, text: Callable[[], str] | None) -> None:
        self._status = text
        self._update()

    def _update(self) -> None:
        busy = self.worker is not None
        for widget in (self.port, self.others):
            widget.setEnabled(not self.running and not busy)
        self.token.setEnabled(self.others.isChecked() and not self.running and not busy)
        self.token.setVisible(self.others.isChecked())
        self.token_label.setVisible(self.others.isChecked())
        self.start_button.setEnabled(not busy)
        self.start_button.setText(_("Stop the service") if self.running else _("Start the service"))
        if self._status is not None:
            self.address.setText(self._status())
        elif self.handle is not None:
            text = _("Running at {address}").format(address="\u2066" + self.handle.url + "\u2069")
            if self.handle.host == EVERYWHERE:
                text += "\n" + _(
                    "Other computers send the token as “Authorization: Bearer "
                    "TOKEN”. Stop the service when you no longer need it."
                )
            self.address.setText(text)
        else:
            self.address.setText(_("The service is stopped."))

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Prediction service: {name}").format(name=self.name_))
        self.intro.setText(
            _(
                "Other programs can send this model images or texts over HTTP "
                "and get its predictions back while this window is open. It "
                "listens on this computer only unless you allow other "
                "computers."
            )
        )
        self.port_label.setText(_("Port:"))
        self.others.setText(_("Allow other computers on the network (needs the token)"))
        self.token_label.setText(_("Token:"))
        self.curl.title.setText(_("With curl:"))
        self.python.title.setText(_("With Python:"))
        for example in (self.curl, self.python):
            example.copy.setText(_("Copy"))
        self._show_examples()
        self._update()


class UseModelDialog(Retranslatable, QDialog):
    """Ways to use a model outside Taxon: export formats and the service."""

    def __init__(
        self, model: str | Path, name: str, task: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("useModelDialog")
        self.model, self.name_, self.task = str(model), name, task
        self.chosen: actions.ExportFormat | None = None
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        self.format_buttons: list[tuple[QPushButton, actions.ExportFormat]] = []
        for fmt in actions.EXPORT_FORMATS:
            button = QPushButton()
            button.setObjectName(f"useExport-{fmt.id}")
            button.clicked.connect(lambda _checked=False, f=fmt: self._choose(f))
            layout.addWidget(button)
            self.format_buttons.append((button, fmt))
        self.serve_button = QPushButton()
        self.serve_button.setObjectName("useServe")
        self.serve_button.clicked.connect(self.serve)
        layout.addWidget(self.serve_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.retranslate_ui()

    def _choose(self, fmt: actions.ExportFormat) -> None:
        self.chosen = fmt
        self.accept()

    def serve(self) -> None:
        self.chosen = None
        self.done(2)

    def ask_export_path(self, fmt: actions.ExportFormat) -> str:
        suggested = str(Path.home() / (self.name_ + fmt.suffix))
        out, _filter = QFileDialog.getSaveFileName(
            self.parentWidget(), _("Export the model"), suggested, fmt.filter_text()
        )
        return out

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("Use “{name}” in other programs").format(name=self.name_))
        self.intro.setText(
            _(
                "Save the model in a format other programs read, or answer "
                "their requests over HTTP while Taxon runs."
            )
        )
        for button, fmt in self.format_buttons:
            button.setText(_(fmt.title))
        self.serve_button.setText(_("Serve over HTTP…"))


def open_service(parent: QWidget, model: str | Path, name: str, task: str) -> ServiceDialog:
    """Show the service dialog for ``model`` (modeless; deleted when closed)."""
    dialog = ServiceDialog(model, name, task, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
