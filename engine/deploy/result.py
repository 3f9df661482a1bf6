"""What an export produced, for the command line's output and the GUI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.core.i18n import N_

MSG_PREPARING = N_("Preparing the model for export…")
MSG_CONVERTING = N_("Converting the model…")
MSG_CHECKING = N_("Checking the exported model against Taxon…")


@dataclass
class ExportResult:
    """The written output (a file or a folder), every file in it, and the parity figures."""

    output: Path
    fmt: str
    files: list[Path] = field(default_factory=list)
    parity: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "format": self.fmt,
            "files": [str(path) for path in self.files],
            "parity": self.parity,
        }
