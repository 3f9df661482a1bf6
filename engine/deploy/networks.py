"""Self-contained torch modules for export: raw inputs in, probabilities out.

A user of an exported model should not have to know Taxon's normalisation,
pooling or output recipe, so each wrapper puts all of it in the graph:

- images: uint8 ``[N, H, W, 3]`` pixels -> cast, NHWC -> NCHW, ``x * rescale``
  then ``(x - mean) / std`` with the package's own numbers -> network -> softmax;
- text: token ids and attention mask -> encoder -> (fast mode) mean pooling
  over real tokens, L2 normalisation, the linear head; (fine-tuned) the
  sequence classifier's logits -> softmax.

The networks come from the same builders the classifiers use, so an export
cannot drift from what ``classify`` computes; the parity check proves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.core.i18n import N_
from engine.core.jobs import UserError

if TYPE_CHECKING:
    import torch

    from engine.deploy.source import Source

MSG_KIND = N_("The model “{name}” is of a kind that cannot be exported.")


def image_module(source: Source) -> torch.nn.Module:
    """uint8 NHWC pixels -> probabilities, in eval mode on the CPU."""
    import torch

    if source.kind == "ensemble":  # the members' modules, weighted (engine.deploy.ensemble)
        from engine.deploy.ensemble import ensemble_image_module

        return ensemble_image_module(source, image_module)

    logits, rescale = _image_logits(source)
    settings = source.preprocess
    mean = [float(v) for v in settings.get("mean", (0.5, 0.5, 0.5))]
    std = [float(v) for v in settings.get("std", (0.5, 0.5, 0.5))]

    class PixelsToProbabilities(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = logits
            self.register_buffer("scale", torch.tensor([rescale / s for s in std]).view(1, 3, 1, 1))
            self.register_buffer(
                "shift",
                torch.tensor([m / s for m, s in zip(mean, std, strict=True)]).view(1, 3, 1, 1),
            )

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            values = pixels.permute(0, 3, 1, 2).float() * self.scale - self.shift
            return torch.softmax(self.network(values), dim=1)

    return PixelsToProbabilities().eval()


def _image_logits(source: Source) -> tuple[torch.nn.Module, float]:
    """(normalised NCHW -> logits network, the pixel rescale factor) of an image source."""
    from engine.models import image_package as trained_image

    if source.is_builtin:
        from engine.models.backbones.efficientnet_lite0 import load_model

        return load_model(), 1.0 / 255.0
    if source.kind in trained_image.KINDS:
        return trained_image.build_network(source.package), 1.0 / 255.0
    if source.kind == trained_image.KIND_HF_LINEAR:
        import torch

        from engine.models.backbones.hf_image import load_backbone
        from engine.models.backbones.hf_image_classifier import package_backbone

        # A fresh backbone, not the shared one (its attention is switched for export).
        backbone = load_backbone(package_backbone(source.package))
        tensors = source.package.tensors()
        head = torch.nn.Linear(backbone.width, len(source.labels))
        try:
            head.load_state_dict(
                {"weight": tensors["classifier.weight"], "bias": tensors["classifier.bias"]}
            )
        except (KeyError, RuntimeError) as error:
            raise source.package.damaged(f"{type(error).__name__}: {error}") from error
        rescale = float(backbone.settings.get("rescale_factor", 1 / 255))
        return _HFLogits.build(backbone.network, head.eval(), backbone.use_pooler), rescale
    if source.kind == trained_image.KIND_HF_FINETUNED:
        from engine.models.backbones.hf_image_classifier import load_hf_classifier

        classifier = load_hf_classifier(source.package)  # a network of its own
        rescale = float(classifier.settings.get("rescale_factor", 1 / 255))
        return _HFLogits.build(classifier.network, None, False), rescale
    raise UserError(MSG_KIND, details=f"kind={source.kind!r}", name=source.name)


class _HFLogits:
    """A Hugging Face image network (with a head on its pooled features, or its own
    classifier) as a plain ``values -> logits`` module."""

    @staticmethod
    def build(network: Any, head: Any, use_pooler: bool) -> torch.nn.Module:
        import torch

        from engine.models.backbones.hf_image import pool

        class Logits(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.network, self.head = network, head

            def forward(self, values: torch.Tensor) -> torch.Tensor:
                output = self.network(pixel_values=values)
                if self.head is None:
                    return output.logits
                return self.head(pool(output, use_pooler))

        return _eager(Logits()).eval()


def _eager(module: torch.nn.Module) -> torch.nn.Module:
    """Use the plain attention implementation: the exporters trace it reliably, while the
    fused kernels' mask handling depends on shapes seen during tracing."""
    for child in module.modules():
        setter = getattr(child, "set_attn_implementation", None)
        config = getattr(child, "config", None)
        if setter is not None and config is not None:
            try:
                setter("eager")
            except (ValueError, AttributeError, TypeError):
                config._attn_implementation = "eager"
    return module


# --------------------------------------------------------------------------- text


def text_module(source: Source) -> tuple[torch.nn.Module, Any, str, int]:
    """(ids + mask -> probabilities module, the HF tokenizer, the text prefix, max tokens)."""
    if source.kind == "text-linear":
        return _fast_text(source)
    if source.kind == "text-finetuned":
        return _finetuned_text(source)
    raise UserError(MSG_KIND, details=f"kind={source.kind!r}", name=source.name)


def _fast_text(source: Source):
    import torch

    from engine.models.text_features import TextEncoder
    from engine.models.text_package import encoder_folder, text_head

    weight, bias = text_head(source.package, source.package.tensors())
    # A fresh encoder, not the shared one: switching its attention for export must not
    # slow down the classifiers that keep using the shared one.
    encoder = TextEncoder(encoder_folder(source.package), "cpu")

    class FastText(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder.model
            self.head = torch.nn.Linear(weight.shape[1], weight.shape[0])
            self.head.load_state_dict({"weight": weight.float(), "bias": bias.float()})

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
            return torch.softmax(self.head(pooled), dim=1)

    module = _eager(FastText()).eval()
    return module, encoder.tokenizer, encoder.prefix, int(encoder.max_tokens)


def _finetuned_text(source: Source):
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    from engine.models.backbones.local_folder import quiet_transformers
    from engine.models.text_package import check_shapes_first

    package = source.package
    try:
        config = AutoConfig.from_pretrained(
            package.path, local_files_only=True, trust_remote_code=False
        )
    except (OSError, ValueError, RecursionError) as error:
        raise package.damaged(f"config.json: {type(error).__name__}: {error}") from error
    check_shapes_first(package, config)
    with quiet_transformers():
        network = AutoModelForSequenceClassification.from_config(config)
    try:
        network.load_state_dict(package.tensors(), strict=True)
    except RuntimeError as error:
        raise package.damaged(str(error)) from error
    tokenizer = AutoTokenizer.from_pretrained(package.path, local_files_only=True)

    class FinetunedText(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            logits = self.network(input_ids=input_ids, attention_mask=attention_mask).logits
            return torch.softmax(logits.float(), dim=1)

    settings = source.preprocess
    module = _eager(FinetunedText()).eval()
    return module, tokenizer, str(settings.get("prefix", "")), int(settings.get("max_tokens", 256))
