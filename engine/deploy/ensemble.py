"""Ensembles as one exported graph: every member's pixels -> probabilities, weighted and summed.

Only image ensembles whose members decode pictures the same way (input size
and resize rule) become one ONNX or TorchScript file: the graph then takes the
same pixels every member would take alone, each member normalises them
itself, and the weighted sum of the members' probabilities (columns in the
ensemble's label order) is the output. The usual parity check compares it
with Taxon's ensemble classifier. Anything else is refused with a reason:
members with different input geometry (Taxon crops and scales for them, which
one graph on one input size cannot reproduce exactly) and text ensembles
(their members may tokenise differently); both still travel as a
``.taxon-model`` file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.core.i18n import N_
from engine.core.jobs import UserError

if TYPE_CHECKING:
    import torch

    from engine.deploy.source import Source

MSG_TEXT = N_(
    "“{name}” combines text models, which can be shared only as a Taxon model file "
    "(.taxon-model), not exported as ONNX or TorchScript."
)
MSG_GEOMETRY = N_(
    "The models combined in “{name}” take pictures of different sizes, so they "
    "cannot be exported as one ONNX or TorchScript file. Share it as a Taxon "
    "model file (.taxon-model) instead."
)


def member_sources(source: Source) -> list[tuple[Source, float, list[int]]]:
    """(member source, weight, column order) of each member of an ensemble source."""
    from engine.deploy.source import load_source
    from engine.models.ensemble import members_of

    return [
        (load_source(member.path), weight, [int(i) for i in order])
        for member, weight, order in members_of(source.package)
    ]


def check_exportable(source: Source) -> None:
    """Refuse, before any work, an ensemble that cannot become one graph."""
    if source.task != "image":
        raise UserError(MSG_TEXT, name=source.name)
    geometry = {
        (int(member.preprocess["size"]), int(member.preprocess["resize_shorter"]))
        for member, _weight, _order in member_sources(source)
    }
    if len(geometry) != 1:
        raise UserError(MSG_GEOMETRY, details=f"geometries {sorted(geometry)}", name=source.name)


def ensemble_image_module(
    source: Source, image_module: Callable[[Source], torch.nn.Module]
) -> torch.nn.Module:
    """uint8 NHWC pixels -> the weighted sum of the members' probabilities.

    ``image_module`` builds each member's network (``engine.deploy.networks``, which
    calls this and hands itself down).
    """
    import torch

    check_exportable(source)
    parts = member_sources(source)
    modules = torch.nn.ModuleList(image_module(member) for member, _w, _o in parts)

    class WeightedVote(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.members = modules
            for index, (_member, weight, order) in enumerate(parts):
                self.register_buffer(f"weight_{index}", torch.tensor(weight, dtype=torch.float32))
                self.register_buffer(f"order_{index}", torch.tensor(order, dtype=torch.int64))

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            total = None
            for index, member in enumerate(self.members):
                probs = member(pixels).index_select(1, getattr(self, f"order_{index}"))
                part = probs * getattr(self, f"weight_{index}")
                total = part if total is None else total + part
            return total

    return WeightedVote().eval()
