"""The README written beside every export, in the interface language.

It says what goes in, what comes out, the labels, the exact preprocessing, and
gives a short Python example that needs only ``onnxruntime``, ``numpy`` and
``Pillow`` (``tokenizers`` for text; ``torch`` for TorchScript). The example is
code, not prose, so it stays as it is in every language; a test runs it
exactly as written here and checks that it answers like ``classify``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.core.i18n import _, format_number, ngettext

#: Labels listed in the README itself; the rest are in the model's metadata / labels.json.
LISTED_LABELS = 50


@dataclass(frozen=True)
class ReadmeFacts:
    """What a README describes."""

    fmt: str  # "onnx" or "torchscript"
    task: str  # "image" or "text"
    name: str
    model_id: str
    labels: list[str]
    model_file: str  # the model's file name, as the example opens it
    preprocess: dict[str, Any]
    prefix: str = ""
    max_tokens: int = 0


def render(facts: ReadmeFacts) -> str:
    """The README's Markdown text."""
    from engine.core.about import app_version

    kind = "ONNX" if facts.fmt == "onnx" else "TorchScript"
    lines = [
        f"# {facts.name} ({kind})",
        "",
        _("Exported by Taxon {version} from the model “{name}” (id {id}).").format(
            version=app_version(), name=facts.name, id=facts.model_id
        ),
        "",
    ]
    lines += _inputs(facts) + _outputs(facts) + _labels(facts) + _preprocessing(facts)
    lines += [
        "## " + _("Example"),
        "",
        _example_intro(facts),
        "",
        "```python",
        example_code(facts),
        "```",
        "",
    ]
    return "\n".join(lines)


def _inputs(facts: ReadmeFacts) -> list[str]:
    out = ["## " + _("Inputs"), ""]
    if facts.task == "image":
        size = int(facts.preprocess["size"])
        out.append(
            _(
                "`pixels`: uint8 RGB pixels of shape [N, {size}, {size}, 3] (pictures, "
                "height, width, colour). The model scales and normalises them itself."
            ).format(size=size)
        )
    else:
        out.append(
            _(
                "`input_ids` and `attention_mask`: int64 arrays of shape [N, T] (texts, "
                "tokens) from the tokenizer in `tokenizer.json`, which already truncates "
                "to {count} tokens and pads a batch to its longest text."
            ).format(count=format_number(facts.max_tokens))
        )
    return out + [""]


def _outputs(facts: ReadmeFacts) -> list[str]:
    return [
        "## " + _("Outputs"),
        "",
        _(
            "`probabilities`: float32 of shape [N, {count}], one probability per label in the "
            "order listed below; each row adds up to 1."
        ).format(count=len(facts.labels)),
        "",
    ]


def _labels(facts: ReadmeFacts) -> list[str]:
    if facts.task == "text":
        where = "`labels.json`"
    elif facts.fmt == "onnx":
        where = _("the model’s metadata, key `labels` (JSON)")
    else:
        where = _("the extra file `labels.json` inside “{file}”").format(file=facts.model_file)
    out = [
        "## " + _("Labels"),
        "",
        _("In output order; the full list is also in {where}.").format(where=where),
        "",
    ]
    out += [
        f"{index}. {json.dumps(label, ensure_ascii=False)}"
        for index, label in enumerate(facts.labels[:LISTED_LABELS])
    ]
    rest = len(facts.labels) - LISTED_LABELS
    if rest > 0:
        out.append(
            ngettext("… and {n} more label", "… and {n} more labels", rest).format(
                n=format_number(rest)
            )
        )
    return out + [""]


def _preprocessing(facts: ReadmeFacts) -> list[str]:
    out = ["## " + _("Preprocessing"), ""]
    if facts.task == "text":
        if facts.prefix:
            out.append(
                _(
                    "Put “{prefix}” before each text, then tokenize it with `tokenizer.json`."
                ).format(prefix=facts.prefix)
            )
        else:
            out.append(_("Tokenize each text with `tokenizer.json`; nothing is added before it."))
        return out + [""]
    settings = facts.preprocess
    size = int(settings["size"])
    shorter = max(int(settings["resize_shorter"]), size)
    rescale = float(settings.get("rescale_factor", 1 / 255))
    out.append(
        _(
            "Turn each picture the right way up (its EXIF orientation) and convert it to "
            "RGB; Taxon puts transparent parts on white. JPEG files may be decoded at a "
            "reduced scale first (Pillow’s draft mode) as long as both sides stay at least "
            "{shorter} pixels. Resize the picture so that its shorter side is {shorter} "
            "pixels (bicubic; the longer side rounded to the nearest pixel), then cut out "
            "the centre {size} × {size} square (offsets rounded)."
        ).format(shorter=shorter, size=size)
    )
    out += [
        "",
        _(
            "Inside the model, per channel (R, G, B): value × {rescale}, minus the mean "
            "{mean}, divided by the standard deviation {std}."
        ).format(
            rescale=f"{rescale:.6g}",
            mean=_numbers(settings.get("mean", (0.5,) * 3)),
            std=_numbers(settings.get("std", (0.5,) * 3)),
        ),
    ]
    return out + [""]


def _numbers(values: Any) -> str:
    return "(" + ", ".join(f"{float(v):.6g}" for v in values) + ")"


def _example_intro(facts: ReadmeFacts) -> str:
    needs = {
        ("onnx", "image"): "onnxruntime, numpy, Pillow",
        ("onnx", "text"): "onnxruntime, numpy, tokenizers",
        ("torchscript", "image"): "torch, numpy, Pillow",
        ("torchscript", "text"): "torch, tokenizers",
    }[(facts.fmt, facts.task)]
    what = _("the pictures’ paths") if facts.task == "image" else _("the texts")
    return _(
        "It needs only {packages}. Run it in the folder that holds “{file}”, with {what} "
        "as arguments; it prints the most likely label of each."
    ).format(packages=needs, file=facts.model_file, what=what)


def example_code(facts: ReadmeFacts) -> str:
    """The example program, exactly as the README shows it."""
    if facts.task == "image":
        return _image_example(facts)
    return _text_example(facts)


def _image_example(facts: ReadmeFacts) -> str:
    size = int(facts.preprocess["size"])
    shorter = max(int(facts.preprocess["resize_shorter"]), size)
    if facts.fmt == "onnx":
        head = [
            "import json",
            "import sys",
            "",
            "import numpy as np",
            "import onnxruntime as ort",
            "from PIL import Image, ImageOps",
            "",
            f"session = ort.InferenceSession({facts.model_file!r})",
            'labels = json.loads(session.get_modelmeta().custom_metadata_map["labels"])',
        ]
        run = 'probabilities = session.run(None, {"pixels": pixels})[0][0]'
    else:
        head = [
            "import json",
            "import sys",
            "",
            "import numpy as np",
            "import torch",
            "from PIL import Image, ImageOps",
            "",
            'extra = {"labels.json": ""}',
            f"model = torch.jit.load({facts.model_file!r}, _extra_files=extra)",
            'labels = json.loads(extra["labels.json"])',
        ]
        run = "probabilities = model(torch.from_numpy(pixels))[0].detach().numpy()"
    body = [
        "for path in sys.argv[1:]:",
        "    image = Image.open(path)",
        f'    image.draft("RGB", ({shorter}, {shorter}))',
        '    image = ImageOps.exif_transpose(image).convert("RGB")',
        "    w, h = image.size",
        f"    size = ({shorter}, max(1, round(h * {shorter} / w))) if w <= h "
        f"else (max(1, round(w * {shorter} / h)), {shorter})",
        "    image = image.resize(size, Image.Resampling.BICUBIC)",
        f"    left, top = round((size[0] - {size}) / 2), round((size[1] - {size}) / 2)",
        f"    pixels = np.asarray(image.crop((left, top, left + {size}, top + {size})))"
        "[np.newaxis]",
        "    " + run,
        "    print(path, labels[int(probabilities.argmax())], float(probabilities.max()))",
    ]
    return "\n".join(head + body)


def _text_example(facts: ReadmeFacts) -> str:
    prefix = json.dumps(facts.prefix, ensure_ascii=False)
    if facts.fmt == "onnx":
        head = [
            "import json",
            "import sys",
            "",
            "import numpy as np",
            "import onnxruntime as ort",
            "from tokenizers import Tokenizer",
            "",
            f"session = ort.InferenceSession({facts.model_file!r})",
        ]
        run = ['probabilities = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]']
        array = "np.array({}, dtype=np.int64)"
    else:
        head = [
            "import json",
            "import sys",
            "",
            "import torch",
            "from tokenizers import Tokenizer",
            "",
            f"model = torch.jit.load({facts.model_file!r})",
        ]
        run = ["probabilities = model(ids, mask).detach().numpy()"]
        array = "torch.tensor({}, dtype=torch.int64)"
    body = [
        'tokenizer = Tokenizer.from_file("tokenizer.json")',
        'labels = json.load(open("labels.json", encoding="utf-8"))',
        "texts = sys.argv[1:]",
        f"encodings = tokenizer.encode_batch([{prefix} + text for text in texts])",
        "ids = " + array.format("[e.ids for e in encodings]"),
        "mask = " + array.format("[e.attention_mask for e in encodings]"),
        *run,
        "for text, row in zip(texts, probabilities):",
        "    print(labels[int(row.argmax())], float(row.max()), text)",
    ]
    return "\n".join(head + body)
