"""Where an export goes, and writing it so that nothing half-done is ever left.

One-file exports (an image model's ``.onnx`` or ``.pt``) follow ``export``'s
``.taxon-model`` rule: ``--out`` naming a folder (existing, or ending in a
separator) puts ``<model name>.<suffix>`` inside it; otherwise the path itself,
the suffix added when missing. A file is written over only when the user typed
exactly its name; a file Taxon chose the name of is never replaced. The README
goes beside it as ``<file name>.README.md`` (``leaves.onnx.README.md``) under the
same rule, so an ONNX and a TorchScript export can sit side by side.

Folder exports (text models) follow ``engine.core.output_folder``: a new or empty
folder outside the package, filled in a hidden staging folder that becomes the
target in one rename, or is removed when anything (the parity check included)
fails.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.core.atomic import write_atomic
from engine.core.i18n import N_
from engine.core.jobs import UserError
from engine.core.output_folder import check_new_output, display_path, staged_folder, write_problem

MSG_EXISTS = N_(
    "“{path}” already exists, and Taxon does not write over a file whose name you "
    "did not give. Move it away or name the file to replace with --out."
)
MSG_IS_FOLDER = N_("“{path}” is a folder, not a file. Choose another name.")
README_SUFFIX = ".README.md"


@dataclass(frozen=True)
class FileTarget:
    """A one-file export: the model file and its README beside it."""

    model: Path
    readme: Path

    def files(self) -> list[Path]:
        return [self.model, self.readme]


def file_target(out: str | os.PathLike[str], name: str, suffix: str) -> FileTarget:
    """Where a one-file export of the model called ``name`` goes (checked, nothing written)."""
    from engine.models.package_archive import safe_file_name

    raw = os.fspath(out)
    given = Path(os.path.abspath(raw))
    named = not (raw.endswith(("/", os.sep)) or given.is_dir())
    if named:
        model = given if given.suffix.lower() == suffix else given.with_name(given.name + suffix)
        exact = model == given
    else:
        model, exact = given / (safe_file_name(name) + suffix), False
    readme = model.with_name(model.name + README_SUFFIX)
    for path in (model, readme):
        if path.is_dir():
            raise UserError(MSG_IS_FOLDER, path=display_path(path))
    if model.exists() and not exact:
        raise UserError(MSG_EXISTS, path=display_path(model))
    if readme.exists() and not (exact and model.exists()):
        raise UserError(MSG_EXISTS, path=display_path(readme))
    return FileTarget(model, readme)


def write_files(target: FileTarget, model: bytes, readme: str) -> None:
    """Write both files atomically; a failure leaves neither new file behind."""
    try:
        target.model.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise write_problem(error, target.model) from error
    readme_was_there = target.readme.exists()
    try:
        write_atomic(target.readme, readme.encode("utf-8"))
        write_atomic(target.model, model)
    except OSError as error:
        if not readme_was_there:
            with contextlib.suppress(OSError):
                target.readme.unlink()
        raise write_problem(error, target.model) from error


@contextlib.contextmanager
def folder_target(out: str | os.PathLike[str], package: Path | None) -> Iterator[Path]:
    """A staging folder that becomes ``out`` when the block succeeds (see the module doc)."""
    target = check_new_output(out, package if package is not None else Path(os.devnull))
    with staged_folder(target) as stage:
        yield stage


def write_into(folder: Path, name: str, data: bytes) -> Path:
    """One file of a folder export (the folder is a private staging folder)."""
    path = folder / name
    try:
        path.write_bytes(data)
    except OSError as error:
        raise write_problem(error, path) from error
    return path
