"""Per-epoch checkpoints that survive a killed process, a power cut or a full disk.

Each epoch writes ``epoch-NNNN.safetensors`` (model, optimiser moments, the best
weights so far, the RNG state) and ``epoch-NNNN.json`` (counters, history,
optimiser hyper-parameters), each through ``write_atomic`` (temporary file,
fsync, ``os.replace``). Only then is ``latest.json`` replaced, naming the epoch
and the SHA-256 of both files: that marker is the commit point. A crash before
it leaves the previous epoch's marker pointing at the previous, complete files;
older epochs are deleted only after the new marker is on disk.

Why not ``torch.save``: a checkpoint is reloaded by a later process, maybe after
the folder was copied around, and unpickling must never be needed. Tensors go to
safetensors; everything else is JSON.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.core.atomic import write_atomic
from engine.core.i18n import N_
from engine.core.jobs import UserError

log = logging.getLogger(__name__)

MARKER = "latest.json"
FORMAT = 1
MSG_CHECKPOINT_FAILED = N_("Could not save the training checkpoint in “{path}”.")


@dataclass
class Checkpoint:
    epoch: int  # epochs completed
    tensors: dict[str, Any]  # torch tensors, CPU
    state: dict[str, Any]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CheckpointStore:
    """The checkpoints of one run (a folder per run fingerprint)."""

    def __init__(self, folder: Path, fingerprint: str) -> None:
        self.folder = Path(folder)
        self.fingerprint = fingerprint

    def save(self, epoch: int, tensors: dict[str, Any], state: dict[str, Any]) -> None:
        from safetensors.torch import save as save_tensors

        stem = f"epoch-{epoch:04d}"
        payload = save_tensors({k: v.detach().contiguous().cpu() for k, v in tensors.items()})
        document = json.dumps(
            {**state, "format": FORMAT, "epoch": epoch, "fingerprint": self.fingerprint}
        ).encode("utf-8")
        marker = json.dumps(
            {
                "format": FORMAT,
                "epoch": epoch,
                "fingerprint": self.fingerprint,
                "tensors": [f"{stem}.safetensors", _sha(payload)],
                "state": [f"{stem}.json", _sha(document)],
            }
        ).encode("utf-8")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder / f"{stem}.safetensors", payload)
            write_atomic(self.folder / f"{stem}.json", document)
            write_atomic(self.folder / MARKER, marker)  # the commit point
        except OSError as error:
            raise UserError(
                MSG_CHECKPOINT_FAILED,
                details=f"{type(error).__name__}: {error}",
                path=str(self.folder),
            ) from error
        self._prune(keep=stem)

    def _prune(self, keep: str) -> None:
        for path in self.folder.glob("epoch-*"):
            if not path.name.startswith(keep + "."):
                try:
                    path.unlink()
                except OSError:
                    log.warning("Cannot remove old checkpoint %s", path, exc_info=True)

    def latest(self) -> Checkpoint | None:
        """The last complete checkpoint of this run, or None (missing, foreign or damaged)."""
        from safetensors.torch import load as load_tensors

        try:
            marker = json.loads((self.folder / MARKER).read_text(encoding="utf-8"))
            if marker.get("format") != FORMAT or marker.get("fingerprint") != self.fingerprint:
                return None
            (tensor_name, tensor_sha), (state_name, state_sha) = marker["tensors"], marker["state"]
            payload = (self.folder / tensor_name).read_bytes()
            document = (self.folder / state_name).read_bytes()
            if _sha(payload) != tensor_sha or _sha(document) != state_sha:
                log.warning("Checkpoint in %s does not match its marker; ignored", self.folder)
                return None
            state = json.loads(document)
            return Checkpoint(int(marker["epoch"]), load_tensors(payload), state)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("Unreadable checkpoint in %s; starting afresh", self.folder, exc_info=True)
            return None

    def clear(self) -> None:
        for path in list(self.folder.glob("epoch-*")) + [self.folder / MARKER]:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                log.warning("Cannot remove %s", path, exc_info=True)
        try:
            os.rmdir(self.folder)
        except OSError:
            pass


# --------------------------------------------------------------------------- optimiser state


def flatten_optimizer(state_dict: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An optimiser ``state_dict`` as (tensors for safetensors, JSON-able rest)."""
    tensors: dict[str, Any] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in state_dict["state"].items():
        for name, value in entries.items():
            if hasattr(value, "detach"):
                tensors[f"optim.{index}.{name}"] = value
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def unflatten_optimizer(tensors: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _prefix, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for index, entries in rest.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(entries)
    return {"state": state, "param_groups": rest["param_groups"]}
