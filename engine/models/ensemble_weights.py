"""An ensemble's weights: fitted on the validation items every member was checked on.

The mixture's validation likelihood is concave in the weights, so the EM update
for mixture weights finds the optimum; a weak Dirichlet prior keeps a small
validation set from zeroing a member (``engine.models.ensemble`` explains when
the weights are fitted and when they stay equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from engine.models.evaluation import Evaluation

#: EM iterations for the weights (converges in far fewer on real data).
EM_STEPS = 500
#: Dirichlet prior strength (pseudo-counts per member) on the weights.
PRIOR = 1.0


def column_order(member_labels: list[str], labels: list[str]) -> np.ndarray:
    """Indices that put a member's probability columns in the ensemble's label order."""
    position = {label: index for index, label in enumerate(member_labels)}
    return np.array([position[label] for label in labels], dtype=np.int64)


def fit_weights(probs: list[np.ndarray], y_true: np.ndarray) -> np.ndarray:
    """Mixture weights maximising the validation log-likelihood (MAP with a weak prior).

    ``probs``: one (N, C) array per member, columns in the same order. The EM update
    ``w_m <- (sum_i r_im + prior) / (N + M * prior)`` with responsibilities
    ``r_im = w_m p_m(y_i) / sum_k w_k p_k(y_i)`` increases the (concave) objective
    every step.
    """
    count = len(y_true)
    members = len(probs)
    weights = np.full(members, 1.0 / members)
    if count == 0:
        return weights
    right = np.stack([np.clip(p[np.arange(count), y_true], 1e-7, 1.0) for p in probs], axis=1)
    for _step in range(EM_STEPS):
        mixed = right * weights
        share = mixed / mixed.sum(axis=1, keepdims=True)
        fresh = (share.sum(axis=0) + PRIOR) / (count + members * PRIOR)
        if np.abs(fresh - weights).max() < 1e-7:
            weights = fresh
            break
        weights = fresh
    return weights / weights.sum()


def mix(probs: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """The weighted average of the members' probabilities (same column order)."""
    out = np.zeros_like(probs[0], dtype=np.float64)
    for weight, part in zip(weights, probs, strict=True):
        out += float(weight) * part
    return out.astype(np.float32)


def _keys(evaluation: Evaluation) -> list[tuple[int, str, str]]:
    """(row id, item, true label) of each evaluated item: the same item with another true
    label (the dataset was edited between two trainings) is another item."""
    ids = evaluation.row_ids.tolist() if evaluation.row_ids is not None else [-1] * len(evaluation)
    truth = [evaluation.labels[y] for y in evaluation.y_true]
    return list(zip(ids, evaluation.items, truth, strict=True))


@dataclass
class SharedValidation:
    """The members' validation predictions on the items all of them were checked on."""

    items: list[str]
    row_ids: list[int] | None
    y_true: np.ndarray  # in the ensemble's label order
    probs: list[np.ndarray]  # one per member, ensemble column order
    same: bool  # every member was checked on exactly these items


def shared_validation(
    evaluations: list[Evaluation | None], labels: list[str]
) -> SharedValidation | None:
    """The items every member's saved evaluation holds (None when a member has none)."""
    if any(evaluation is None for evaluation in evaluations):
        return None
    keyed = [_keys(evaluation) for evaluation in evaluations]  # type: ignore[arg-type]
    common = set(keyed[0])
    for keys in keyed[1:]:
        common &= set(keys)
    same = all(len(set(keys)) == len(keys) == len(common) for keys in keyed)
    order = [key for key in dict.fromkeys(keyed[0]) if key in common]
    probs = []
    for evaluation, keys in zip(evaluations, keyed, strict=True):
        assert evaluation is not None
        position = {key: index for index, key in enumerate(keys)}
        rows = np.array([position[key] for key in order], dtype=np.int64)
        columns = column_order(evaluation.labels, labels)
        probs.append(
            evaluation.probs[rows][:, columns]
            if len(rows)
            else np.zeros((0, len(labels)), np.float32)
        )
    label_index = {label: index for index, label in enumerate(labels)}
    y_true = np.array([label_index[label] for _id, _item, label in order], dtype=np.int64)
    has_ids = all(evaluation.row_ids is not None for evaluation in evaluations)  # type: ignore[union-attr]
    return SharedValidation(
        [item for _id, item, _label in order],
        [row_id for row_id, _item, _label in order] if has_ids else None,
        y_true,
        probs,
        same,
    )
