"""Ensembles: two or more models of the same task and labels, voting as one model.

``combine(models, out)`` writes an ensemble package. Soft voting: the ensemble's
probabilities are a weighted average of its members' (each member's columns
mapped to the ensemble's label order, so the same labels in another order are
fine; different label sets are refused). The package is self-contained: each
member is copied inside as ``members/NN/`` with its own manifest, and the
ensemble's manifest lists every file with its hash as usual, so the member
files are checked twice on load (by the ensemble, then by the member's own
manifest). The ensemble's ``model.safetensors`` holds only the weights vector.

How the weights are chosen: from the members' saved validation predictions
(``evaluation.json``). When every member was checked on the same items (same
data, same split seed), the weights maximise the validation log-likelihood (the
mixture's likelihood is concave in the weights, so the EM update for mixture
weights finds the optimum; a weak Dirichlet prior keeps a small validation set
from zeroing a member). When the validation sets differ, a member's validation
items may be another member's training items, so no weights can be fitted
honestly: the weights are equal, and the manifest and model card say so. The
ensemble's own ``evaluation.json`` covers the items every member was checked
on (none of them trained on those), with the weighted probabilities. The notes and
the model card that put all this in words are in ``ensemble_card``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.core.i18n import N_, _
from engine.core.jobs import CancelToken, Progress, UserError, no_progress
from engine.models.ensemble_card import EQUAL, SEARCHED, combination_notes, model_card
from engine.models.ensemble_weights import column_order, fit_weights, mix, shared_validation

if TYPE_CHECKING:
    from engine.models.evaluation import Evaluation
    from engine.models.package import ModelPackage

log = logging.getLogger(__name__)

KIND = "ensemble"
MEMBERS_DIR = "members"
WEIGHTS_TENSOR = "ensemble.weights"
MAX_MEMBERS = 16

MSG_TOO_FEW = N_("Choose at least two models to combine.")
MSG_TOO_MANY = N_("At most {n} models can be combined.")
MSG_TWICE = N_("“{name}” was chosen twice.")
MSG_TASKS = N_(
    "“{a}” and “{b}” do not classify the same kind of data (images or texts), so "
    "they cannot be combined."
)
MSG_LABELS = N_(
    "“{a}” and “{b}” do not sort into the same categories, so they cannot be "
    "combined. Only in “{a}”: {only_a}. Only in “{b}”: {only_b}."
)
MSG_NESTED = N_("“{name}” is already a combination of models. Combine its members instead.")
MSG_MEMBER_DAMAGED = N_("The combined model “{path}” is damaged and cannot be used.")
MSG_COMBINING = N_("Combining the models…")
NONE_WORD = N_("none")


@dataclass
class MemberReport:
    """One member as the combine step saw it."""

    name: str
    path: str
    kind: str
    weight: float
    accuracy: float | None  # on the items the ensemble was checked on


@dataclass
class CombineResult:
    """What ``combine`` wrote and measured."""

    package: Path
    name: str
    members: list[MemberReport]
    weighting: str  # SEARCHED or EQUAL
    accuracy: float | None  # the ensemble's, on ``checked`` items
    checked: int
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "package": str(self.package),
            "name": self.name,
            "weighting": self.weighting,
            "accuracy": self.accuracy,
            "checked": self.checked,
            "notes": self.notes,
            "members": [
                {
                    "name": m.name,
                    "path": m.path,
                    "kind": m.kind,
                    "weight": m.weight,
                    "accuracy": m.accuracy,
                }
                for m in self.members
            ],
        }


# --------------------------------------------------------------------------- checks


def check_members(packages: list[ModelPackage]) -> list[str]:
    """Refuse what cannot be combined; the ensemble's labels (the first member's order)."""
    if len(packages) < 2:
        raise UserError(MSG_TOO_FEW)
    if len(packages) > MAX_MEMBERS:
        raise UserError(MSG_TOO_MANY, n=MAX_MEMBERS)
    seen: set[str] = set()
    first = packages[0]
    for package in packages:
        if package.kind == KIND:
            raise UserError(MSG_NESTED, name=package.name)
        key = str(package.manifest.get("manifest_sha256") or package.path)
        if key in seen:
            raise UserError(MSG_TWICE, name=package.name)
        seen.add(key)
        if package.task != first.task:
            raise UserError(MSG_TASKS, a=first.name, b=package.name)
        if set(package.labels) != set(first.labels):
            raise UserError(
                MSG_LABELS,
                a=first.name,
                b=package.name,
                only_a=_label_list(set(first.labels) - set(package.labels)),
                only_b=_label_list(set(package.labels) - set(first.labels)),
            )
    return first.labels


def _label_list(labels: set[str], shown: int = 5) -> str:
    if not labels:
        return _(NONE_WORD)
    ordered = sorted(labels, key=str.casefold)
    text = ", ".join(f"“{label}”" for label in ordered[:shown])
    return text + (", …" if len(ordered) > shown else "")


# --------------------------------------------------------------------------- combining


@dataclass
class Plan:
    """What combining would give, before anything is written (the dialog's preview)."""

    packages: list[ModelPackage]
    labels: list[str]
    weights: np.ndarray
    weighting: str
    evaluation: Evaluation | None
    member_accuracy: list[float | None]

    def result(self, package: Path | None, name: str) -> CombineResult:
        reports = [
            MemberReport(p.name, str(p.source or p.path), p.kind, float(w), a)
            for p, w, a in zip(self.packages, self.weights, self.member_accuracy, strict=True)
        ]
        checked = len(self.evaluation) if self.evaluation is not None else 0
        return CombineResult(
            package or Path(),
            name,
            reports,
            self.weighting,
            self.evaluation.accuracy if self.evaluation is not None else None,
            checked,
            combination_notes(self.weighting, checked),
        )


def plan(
    models: list[str | os.PathLike[str]],
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> Plan:
    """Load and check the members, choose the weights and score the combination."""
    from engine.models.evaluation import Evaluation
    from engine.models.package import load_package

    cancel = cancel or CancelToken()
    progress(0, None, _(MSG_COMBINING))
    if len(models) < 2:
        raise UserError(MSG_TOO_FEW)
    packages = []
    for model in models:
        packages.append(load_package(model))
        cancel.raise_if_cancelled()
    labels = check_members(packages)
    evaluations = [package.evaluation() for package in packages]
    validation = shared_validation(evaluations, labels)
    if validation is not None and validation.same and len(validation.y_true):
        weights, weighting = fit_weights(validation.probs, validation.y_true), SEARCHED
    else:
        weights, weighting = np.full(len(packages), 1.0 / len(packages)), EQUAL
    evaluation = None
    member_accuracy: list[float | None] = [None] * len(packages)
    if validation is not None and len(validation.y_true):
        evaluation = Evaluation(
            labels,
            validation.items,
            validation.y_true,
            mix(validation.probs, weights),
            row_ids=validation.row_ids,
        )
        member_accuracy = [
            float((p.argmax(1) == validation.y_true).mean()) for p in validation.probs
        ]
    return Plan(packages, labels, weights, weighting, evaluation, member_accuracy)


def preview(
    models: list[str | os.PathLike[str]],
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> CombineResult:
    """The weights and validation scores ``combine`` would give, nothing written."""
    return plan(models, progress, cancel).result(None, "")


def combine(
    models: list[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    name: str | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> CombineResult:
    """Combine the packages ``models`` into an ensemble package at ``out`` (a job)."""
    from engine.models.package import check_target, save_package

    cancel = cancel or CancelToken()
    check_target(out)  # refuse a folder of the user's before any work
    chosen = plan(models, progress, cancel)
    packages, evaluation = chosen.packages, chosen.evaluation
    name = name or Path(out).resolve().name
    members, files = [], {}
    for index, package in enumerate(packages):
        folder = f"{MEMBERS_DIR}/{index:02d}"
        files.update(_member_files(package, folder))
        members.append(
            {
                "path": folder,
                "name": package.name,
                "kind": package.kind,
                "weight": float(chosen.weights[index]),
                "labels": package.labels,
                "accuracy": chosen.member_accuracy[index],
            }
        )
        progress(index + 1, len(packages), _(MSG_COMBINING))
        cancel.raise_if_cancelled()
    checked = len(evaluation) if evaluation is not None else 0
    manifest: dict[str, Any] = {
        "name": name,
        "task": packages[0].task,
        "kind": KIND,
        "labels": chosen.labels,
        "preprocess": _preprocess(packages),
        "metrics": evaluation.summary() if evaluation is not None else {},
        "ensemble": {
            "members": members,
            "weighting": chosen.weighting,
            "validation": (
                "shared" if chosen.weighting == SEARCHED else "common" if checked else "none"
            ),
            "checked_items": checked,
        },
    }
    card = model_card(manifest, combination_notes(chosen.weighting, checked))
    target = save_package(
        out,
        manifest=manifest,
        tensors={WEIGHTS_TENSOR: chosen.weights.astype(np.float32)},
        evaluation=evaluation.to_json() if evaluation is not None else None,
        extra_files=files,
        card=card,
    )
    return chosen.result(target, name)


def _member_files(package: ModelPackage, folder: str) -> dict[str, bytes]:
    """Every file the member's manifest lists, and the manifest itself, under ``folder``."""
    from engine.models.package import MANIFEST_NAME

    names = [*package.manifest["files"], MANIFEST_NAME]
    return {f"{folder}/{name}": (package.path / name).read_bytes() for name in names}


def _preprocess(packages: list[ModelPackage]) -> dict[str, Any]:
    """Image ensembles decode at the largest member's geometry (the others are cropped and
    scaled from it); text ensembles need nothing of their own."""
    if packages[0].task != "image":
        return {}
    from engine.models.backbones import efficientnet_lite0 as lite0

    settings = [dict(p.manifest.get("preprocess") or lite0.preprocess_config()) for p in packages]
    best = max(settings, key=lambda s: (int(s["size"]), -int(s["resize_shorter"])))
    return {"size": int(best["size"]), "resize_shorter": int(best["resize_shorter"])}


# --------------------------------------------------------------------------- loading


def members_of(package: ModelPackage) -> list[tuple[ModelPackage, float, np.ndarray]]:
    """(member package, weight, column order) of each member, every one validated."""
    from engine.models.package import load_package

    spec = package.manifest.get("ensemble")
    members = spec.get("members") if isinstance(spec, dict) else None
    if not isinstance(members, list) or not 2 <= len(members) <= MAX_MEMBERS:
        raise package.damaged("the manifest lists no ensemble members")
    weights = package.tensors().get(WEIGHTS_TENSOR)
    weights = None if weights is None else weights.double().numpy().reshape(-1)
    if (
        weights is None
        or len(weights) != len(members)
        or not np.isfinite(weights).all()
        or (weights < 0).any()
        or weights.sum() <= 0
    ):
        raise package.damaged("the ensemble weights are missing or not valid weights")
    weights = weights / weights.sum()
    out = []
    listed = set(package.manifest["files"])
    for member, weight in zip(members, weights, strict=True):
        folder = member.get("path") if isinstance(member, dict) else None
        if (
            not isinstance(folder, str)
            or not folder.startswith(MEMBERS_DIR + "/")
            or ".." in Path(folder).parts
            or f"{folder}/taxon-model.json" not in listed
        ):
            raise package.damaged(f"bad ensemble member {str(folder)[:80]!r}")
        loaded = load_package(package.path / folder)
        if (
            loaded.kind == KIND
            or loaded.task != package.task
            or set(loaded.labels) != set(package.labels)
        ):
            raise package.damaged(f"member {folder} does not match the ensemble")
        out.append((loaded, float(weight), column_order(loaded.labels, package.labels)))
    return out
