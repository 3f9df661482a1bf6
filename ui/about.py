"""Help → About: version, purpose, and the licence of every bundled model and library."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from engine.core.about import app_version, bundled_components
from engine.core.i18n import _
from ui.retranslate import Retranslatable


class AboutDialog(Retranslatable, QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.resize(620, 520)
        self._heading = QLabel()
        self._heading.setWordWrap(True)
        self._browser = QTextBrowser()
        self._browser.setOpenLinks(False)
        self._buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self._buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self._heading)
        layout.addWidget(self._browser, 1)
        layout.addWidget(self._buttons)
        self.retranslate_ui()

    def _component_table(self, kind: str) -> str:
        rows = "".join(
            f"<tr><td>{escape(c.name)}</td><td>{escape(c.version)}</td><td>{escape(c.license)}</td></tr>"
            for c in bundled_components()
            if c.kind == kind
        )
        headers = (_("Name"), _("Version"), _("Licence"))
        head = "<tr>" + "".join(f"<th align='start'>{escape(h)}</th>" for h in headers) + "</tr>"
        return f"<table cellspacing='0' cellpadding='3' width='100%'>{head}{rows}</table>"

    def retranslate_ui(self) -> None:
        self.setWindowTitle(_("About Taxon"))
        self._heading.setText(
            "<h2>Taxon</h2><p>"
            + escape(_("Version {version}").format(version=app_version()))
            + "</p><p>"
            + escape(
                _(
                    "Sort images and text into categories on your own computer: "
                    "offline, in your language."
                )
            )
            + "</p>"
        )
        models, libraries = _("Built-in models"), _("Libraries")
        privacy = _(
            "Taxon never connects to the internet. Your data and models stay on this computer."
        )
        class_names = _(
            "The built-in image model's 1,000 class names (ImageNet) are shown in the "
            "interface language; hover over one to see its English name, which files "
            "and programs receive."
        )
        self._browser.setHtml(
            f"<h3>{escape(models)}</h3>{self._component_table('model')}"
            f"<p>{escape(class_names)}</p>"
            f"<h3>{escape(libraries)}</h3>{self._component_table('library')}"
            f"<p>{escape(privacy)}</p>"
        )
