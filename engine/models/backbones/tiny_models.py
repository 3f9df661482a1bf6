"""Tiny random-initialised Hugging Face model folders, for tests and benchmarks.

``tiny_text_model`` and ``tiny_image_model`` write folders of the same shape as
real ones (a config, safetensors weights, a tokenizer or an image processor) in
seconds and kilobytes, so that the checks and loaders of
``engine.models.backbones.local_folder`` can be exercised without downloading a
model. They are apart from that module because nothing in the application needs
them: only tests and benchmarks build models from nothing.
"""

from __future__ import annotations

from pathlib import Path

from engine.models.backbones.local_folder import quiet_transformers

__all__ = ["tiny_image_model", "tiny_text_model"]


DEFAULT_VOCAB_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "I love this product, it works great!",
    "Terrible service, I want my money back.",
    "Der Hund bellt, die Katze schläft.",
    "¿Dónde está la biblioteca más cercana?",
    "Съешь же ещё этих мягких французских булок.",
    "مرحبا بالعالم، كيف حالك اليوم؟",
    "我们明天早上去北京。",
    "東京タワーはとても高いです。",
)


def tiny_text_model(folder: Path, vocab_texts: list[str] | None = None) -> Path:
    """A random-initialised ``BertModel`` (hidden 32, 2 layers, 2 heads) with a real
    WordPiece tokenizer trained on ``vocab_texts``: the shape of a real text folder."""
    import torch
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    texts = list(vocab_texts or []) + list(DEFAULT_VOCAB_TEXTS)
    tokenizer.train_from_iterator(
        texts,
        trainers.WordPieceTrainer(vocab_size=2000, special_tokens=specials, show_progress=False),
    )
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tokenizer.decoder = decoders.WordPiece()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    fast.save_pretrained(folder)
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=tokenizer.token_to_id("[PAD]"),
    )
    with torch.random.fork_rng(), quiet_transformers():
        torch.manual_seed(0)
        BertModel(config).save_pretrained(folder)
    return folder


def tiny_image_model(folder: Path) -> Path:
    """A random-initialised ViT (hidden 32, 2 layers, 32 x 32 pixels in 8 x 8 patches) with
    its image processor config: the shape of a real image folder."""
    import torch
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = ViTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=32,
        patch_size=8,
    )
    with torch.random.fork_rng(), quiet_transformers():
        torch.manual_seed(0)
        ViTModel(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder
