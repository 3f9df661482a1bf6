"""The work behind ``POST /v1/classify``, free of HTTP: decode, batch, top-k, JSON rows.

``Service`` owns the model thread (``MicroBatcher``) and, for image models,
the decode workers (``DecodeService``); ``close()`` stops both. The app turns
requests into calls here and the rows returned here into responses.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from engine.core.i18n import Message
from engine.serving.batcher import MicroBatcher
from engine.serving.decode import DecodeFailure, DecodeService
from engine.serving.limits import MSG_TEXT_TOO_LONG, Limits
from engine.serving.model import ServedModel


class Service:
    """Classification for one model, shared by all requests."""

    def __init__(
        self, model: ServedModel, limits: Limits, decode_workers: int | None = None
    ) -> None:
        self.model, self.limits = model, limits
        classifier = model.classifier
        self.slots = asyncio.Semaphore(limits.max_concurrent)
        self.decoder: DecodeService | None = None
        if model.task == "text":
            run = self._run_texts
        else:
            run = self._run_images
            preprocess = classifier.preprocess
            kwargs = {} if decode_workers is None else {"workers": decode_workers}
            self.decoder = DecodeService(preprocess.size, preprocess.resize_shorter, **kwargs)
        self.batcher = MicroBatcher(run, max(1, classifier.batch_size), limits.batch_wait_s)

    def _run_images(self, items: list[np.ndarray]) -> list[np.ndarray]:
        return list(self.model.classifier.predict_batch(np.stack(items)))

    def _run_texts(self, items: list[str]) -> list[np.ndarray]:
        return list(self.model.classifier.predict_texts(list(items)))  # type: ignore[attr-defined]

    def warm_up(self) -> None:
        if self.decoder is not None:
            self.decoder.warm_up()

    def close(self) -> None:
        self.batcher.close()
        if self.decoder is not None:
            self.decoder.close()

    def _predictions(self, row: np.ndarray, top_k: int) -> list[dict[str, Any]]:
        best = self.model.classifier.top_k(row[None, :], top_k)[0]
        return [{"label": p.label, "score": p.score} for p in best]

    async def classify_images(
        self, uploads: list[tuple[str, bytes]], top_k: int
    ) -> list[dict[str, Any]]:
        """One row per upload, in order: predictions and size, or an error with its code."""
        assert self.decoder is not None
        decoded = await self.decoder.decode_all(uploads)
        good = [index for index, item in enumerate(decoded) if not isinstance(item, DecodeFailure)]
        futures = self.batcher.submit([decoded[index].pixels for index in good])  # type: ignore[union-attr]
        rows = await asyncio.gather(*(asyncio.wrap_future(future) for future in futures))
        probabilities = dict(zip(good, rows, strict=True))
        out: list[dict[str, Any]] = []
        for index, ((name, _data), item) in enumerate(zip(uploads, decoded, strict=True)):
            if isinstance(item, DecodeFailure):
                out.append({"input": name, "error": item.message.text(), "code": item.code})
            else:
                out.append(
                    {
                        "input": name,
                        "predictions": self._predictions(probabilities[index], top_k),
                        "width": item.width,
                        "height": item.height,
                    }
                )
        return out

    async def classify_texts(
        self, texts: list[tuple[str, str]], top_k: int
    ) -> list[dict[str, Any]]:
        """One row per ``(name, text)``: predictions and detected language, or an error."""
        from engine.data.languages import detect_languages

        limit = self.limits.max_text_chars
        good = [index for index, (_name, text) in enumerate(texts) if len(text) <= limit]
        chosen = [texts[index][1] for index in good]
        futures = self.batcher.submit(chosen)
        languages_task = asyncio.to_thread(detect_languages, chosen) if chosen else None
        rows = await asyncio.gather(*(asyncio.wrap_future(future) for future in futures))
        languages = await languages_task if languages_task is not None else []
        found = {
            index: (row, language or "")
            for index, row, language in zip(good, rows, languages, strict=True)
        }
        out: list[dict[str, Any]] = []
        for index, (name, _text) in enumerate(texts):
            if index not in found:
                message = Message(MSG_TEXT_TOO_LONG, {"limit": limit})
                out.append({"input": name, "error": message.text(), "code": "text_too_long"})
                continue
            row, language = found[index]
            out.append(
                {"input": name, "language": language, "predictions": self._predictions(row, top_k)}
            )
        return out
