"""The README's example, run exactly as written, outside Taxon, answers like ``classify``;
and ``export --format onnx|torchscript`` on the command line: output, JSON, exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import deploy_models as dm
from ui.cli import main

pytest.importorskip("onnxruntime")
pytest.importorskip("torch")
#: Every test here uses the models fixture, which trains fast-mode image and text models.
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("example-models")
    digits = dm.digits_dataset(base / "digits")
    topics = dm.topics_dataset(base / "topics")
    vit, bert = dm.tiny_image_backbone(base / "vit"), dm.tiny_text_backbone(base / "bert")
    return {
        "image": dm.train_package(
            digits, base / "digits-model", mode="fast", epochs=10, backbone=str(vit)
        ),
        "text": dm.train_package(
            topics, base / "topics-model", mode="fast", epochs=10, backbone=str(bert)
        ),
        "instant": dm.train_package(topics, base / "instant-model", mode="instant"),
    }


def _example(readme: Path) -> str:
    """The one ```python block of the README, verbatim."""
    blocks = re.findall(r"```python\n(.*?)\n```", readme.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    return blocks[0]


def _run_example(readme: Path, folder: Path, args: list[str], tmp_path: Path) -> list[str]:
    """Run the example with Taxon out of reach: isolated mode (no PYTHON* variables, no
    script or working folder on sys.path), a bare environment, from the export's folder."""
    script = tmp_path / "scripts" / "example.py"
    script.parent.mkdir(exist_ok=True)
    code = _example(readme)
    assert len(code.splitlines()) <= 25
    script.write_text(code, encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "ORT_DISABLE_TELEMETRY": "1"}
    probe = subprocess.run(
        [sys.executable, "-I", "-c", "import engine"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode != 0  # Taxon itself cannot be imported there
    done = subprocess.run(
        [sys.executable, "-I", str(script), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _engine_top1_images(package: Path, paths: list[str]) -> list[str]:
    from engine.models.inference import classify_images
    from engine.models.loading import load_classifier

    classifier = load_classifier(package)
    try:
        return [r.predictions[0].label for r in classify_images(classifier, paths, top_k=1)]
    finally:
        classifier.close()


def _images(package: Path) -> list[str]:
    from engine.models.package import load_package

    return load_package(package).evaluation().items[:5]


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_the_image_readme_example_answers_like_classify(models, fmt, tmp_path):
    from engine.deploy import export_model

    result = export_model(models["image"], tmp_path / "export" / "digits", fmt)
    paths = _images(models["image"])
    lines = _run_example(result.files[1], result.output.parent, paths, tmp_path)
    assert [line.rsplit(" ", 2)[1] for line in lines] == _engine_top1_images(models["image"], paths)
    assert all(0.0 < float(line.rsplit(" ", 1)[1]) <= 1.0 for line in lines)


def test_the_text_readme_example_answers_like_classify(models, tmp_path):
    from engine.deploy import export_model
    from engine.models.loading import load_classifier

    result = export_model(models["text"], tmp_path / "topics", "onnx")
    lines = _run_example(result.output / "README.md", result.output, dm.NEW_TEXTS, tmp_path)
    classifier = load_classifier(models["text"])
    try:
        probabilities = classifier.predict_texts(dm.NEW_TEXTS)
    finally:
        classifier.close()
    expected = [classifier.labels[i] for i in probabilities.argmax(1)]
    assert [line.split(" ", 1)[0] for line in lines] == expected


# --------------------------------------------------------------------------- the command line


def test_cli_export_onnx_prints_json_and_exits_0(models, tmp_path, capsys):
    code = main(
        [
            "--lang",
            "en",
            "export",
            str(models["image"]),
            "--format",
            "onnx",
            "--out",
            str(tmp_path / "digits"),
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["output"] == str(tmp_path / "digits.onnx") and out["format"] == "onnx"
    assert out["files"] == [str(tmp_path / "digits.onnx"), str(tmp_path / "digits.onnx.README.md")]
    assert out["parity"]["top1_agreed"] == out["parity"]["checked"] >= 4


def test_cli_export_says_what_it_checked(models, tmp_path, capsys):
    code = main(
        [
            "--lang",
            "en",
            "export",
            str(models["text"]),
            "--format",
            "onnx",
            "--out",
            str(tmp_path / "topics"),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0 and "Saved the model to" in printed and "the same top label" in printed


def test_cli_refusals_exit_1_with_the_reason_and_write_nothing(models, tmp_path, capsys):
    code = main(
        [
            "--lang",
            "en",
            "export",
            str(models["instant"]),
            "--format",
            "onnx",
            "--out",
            str(tmp_path / "instant"),
        ]
    )
    assert code == 1 and "n-grams" in capsys.readouterr().err
    code = main(["--lang", "en", "export", "builtin", "--out", str(tmp_path / "builtin")])
    assert code == 1 and "ONNX or TorchScript" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_unknown_format_is_a_usage_error(models, tmp_path):
    with pytest.raises(SystemExit) as caught:
        main(["export", str(models["image"]), "--format", "tflite", "--out", str(tmp_path / "x")])
    assert caught.value.code == 2


def test_cli_default_format_still_packs_a_taxon_model_file(models, tmp_path, capsys):
    code = main(
        ["--lang", "en", "export", str(models["image"]), "--out", str(tmp_path / "d"), "--json"]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["output"] == str(tmp_path / "d.taxon-model")


def test_main_py_export_then_example_matches_main_py_classify(models, tmp_path):
    """The whole road as a user walks it: two commands and the README's example."""

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(ROOT / "main.py"), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    exported = run(
        "export",
        str(models["image"]),
        "--format",
        "onnx",
        "--out",
        str(tmp_path / "digits.onnx"),
        "--json",
    )
    assert exported.returncode == 0, exported.stderr
    paths = _images(models["image"])
    lines = _run_example(tmp_path / "digits.onnx.README.md", tmp_path, paths, tmp_path)
    classified = run("classify", "--model", str(models["image"]), "--json", *paths)
    assert classified.returncode == 0, classified.stderr
    text = classified.stdout.strip()
    rows = json.loads(text) if text.startswith("[") else [json.loads(x) for x in text.splitlines()]
    expected = {row["input"]: row["predictions"][0]["label"] for row in rows}
    assert [line.rsplit(" ", 2)[1] for line in lines] == [expected[path] for path in paths]
