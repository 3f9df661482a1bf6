"""The helper-process tokenizer gives fine-tuned text models what ``AutoTokenizer`` gives."""

from __future__ import annotations

import json

import pytest
import torch

from engine.models import tokenizer_process
from engine.models.text_package import padded_batch
from engine.models.tokenizer_process import helper_tokenizer
from tests.helpers.texts import FOOD, SPORT

TEXTS = [
    "The goalkeeper SAVED a penalty!",
    "Café crème, très sucré",
    "",
    "球队在决赛中赢得了比赛",
    " ".join(SPORT + FOOD),  # longer than the limit: truncated
]


def _compare(folder, limit: int = 32) -> None:
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    helper = helper_tokenizer(folder)
    assert helper is not None and helper.pad_id == reference.pad_token_id
    ids = helper.encode(TEXTS, limit)
    assert ids == reference(TEXTS, truncation=True, max_length=limit)["input_ids"]
    ours = padded_batch(ids, helper.pad_id)
    theirs = reference(TEXTS, truncation=True, max_length=limit, padding=True, return_tensors="pt")
    assert torch.equal(ours["input_ids"], theirs["input_ids"])
    assert torch.equal(ours["attention_mask"], theirs["attention_mask"])


@pytest.fixture(autouse=True, scope="module")
def _stop_the_helper():
    yield
    tokenizer_process.shutdown()


def test_a_wordpiece_folder_tokenizes_the_same_in_the_helper(tmp_path):
    from engine.models.backbones.tiny_models import tiny_text_model

    _compare(tiny_text_model(tmp_path / "tiny", SPORT + FOOD))


@pytest.mark.slow
def test_the_multilingual_folder_tokenizes_the_same_in_the_helper():
    from engine.models.backbones.e5 import e5_folder

    _compare(e5_folder(), limit=64)


def test_a_folder_without_a_padding_token_falls_back_to_transformers(tmp_path):
    from engine.models.backbones.tiny_models import tiny_text_model

    folder = tiny_text_model(tmp_path / "tiny", SPORT)
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        path = folder / name
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            data.pop("pad_token", None)
            path.write_text(json.dumps(data), encoding="utf-8")
    assert helper_tokenizer(folder) is None
