"""The E5S1 file's records, block format and bounds checks (read by ``e5_format``).

Kept apart from the reader so the byte layout (documented in ``e5_format``) is
in one short place: what a header, a tensor entry and a Q4_0 block are, how a
read past the end fails, and which entry sizes are plausible.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

MAGIC = b"E5S1"
SUPPORTED_VERSIONS = (1,)
F32, Q4_0 = 0, 1
BLOCK = 32
#: One Q4_0 block: fp16 scale, then 16 bytes of packed nibbles (18 bytes, unpadded).
BLOCK_DTYPE = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])
METASPACE = "\u2581"


class E5FormatError(ValueError):
    """The file is not a readable E5S1 model (damaged, truncated or a newer format)."""


@dataclass(frozen=True)
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class SpecialIds:
    bos: int
    eos: int
    pad: int
    unk: int


class Cursor:
    """Sequential little-endian reads that fail cleanly past the end."""

    def __init__(self, data: memoryview | bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> memoryview:
        if size < 0 or self.pos + size > len(self.data):
            raise E5FormatError(f"truncated file: need {size} bytes at offset {self.pos}")
        view = memoryview(self.data)[self.pos : self.pos + size]
        self.pos += size
        return view

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        return np.frombuffer(self.take(size), dtype=dtype, count=count)


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """(n_blocks * 32,) float32 values of Q4_0 blocks (``BLOCK_DTYPE``), vectorised."""
    nibbles = blocks["nibbles"]
    values = np.empty((len(blocks), BLOCK), dtype=np.float32)
    values[:, :16] = nibbles & 0x0F
    values[:, 16:] = nibbles >> 4
    values -= 8.0
    values *= blocks["scale"].astype(np.float32)[:, None]
    return values.reshape(-1)


def parse_normalization(data: memoryview, count: int) -> dict[str, str]:
    """The per-code-point replacement map (a replacement may be empty: a deletion)."""
    cursor = Cursor(data)
    table: dict[str, str] = {}
    try:
        for _index in range(max(0, count)):
            (code,) = cursor.unpack("I")
            (length,) = cursor.unpack("B")
            replacement = cursor.array("<u4", length)
            table[chr(code)] = "".join(chr(int(c)) for c in replacement)
    except ValueError as error:  # chr() of a value past U+10FFFF
        raise E5FormatError(f"damaged normalisation table: {error}") from error
    return table


def check_entry(entry: TensorEntry, file_size: int) -> None:
    if entry.dtype == F32:
        expected = entry.count * 4
    elif entry.dtype == Q4_0:
        if entry.count % BLOCK:
            raise E5FormatError(f"{entry.name}: {entry.count} values is not whole blocks")
        expected = entry.count // BLOCK * BLOCK_DTYPE.itemsize
    else:
        raise E5FormatError(f"{entry.name}: unknown dtype {entry.dtype}")
    if entry.nbytes != expected or entry.offset + entry.nbytes > file_size:
        raise E5FormatError(
            f"{entry.name}: {entry.nbytes} bytes at {entry.offset} "
            f"(expected {expected}, file has {file_size})"
        )
