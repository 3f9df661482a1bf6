"""Tables in many languages and encodings, and how the table tests read them back."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pandas as pd
import pytest

from engine.core.jobs import UserError
from engine.data.tables.common import TableRead
from engine.data.tables.table_io import read_table

TEXTS = {
    "zh": [
        "这个产品的质量非常好，我很满意。",
        "物流速度太慢了，等了一个星期才到。",
        "客服态度很好，耐心解答了我的问题。",
        "价格有点贵，但是东西不错。",
        "包装破损了，里面的东西也坏了。",
    ],
    "zh_hant": [
        "這個產品的品質非常好，我很滿意。",
        "物流速度太慢了，等了一個星期才到。",
        "客服態度很好，耐心解答了我的問題。",
        "價格有點貴，但是東西不錯。",
    ],
    "ja": [
        "この商品はとても良かったです。",
        "配送が遅くて残念でした。",
        "サポートの対応が丁寧でした。",
        "値段は高いですが、品質は良いです。",
        "箱が壊れていて、中身も傷ついていました。",
    ],
    "ko": [
        "이 제품 정말 좋아요. 만족합니다.",
        "배송이 너무 늦었어요.",
        "고객 서비스가 친절했습니다.",
        "가격은 비싸지만 품질은 좋아요.",
    ],
    "ru": [
        "Отличный товар, очень доволен покупкой.",
        "Доставка была слишком долгой.",
        "Служба поддержки ответила быстро и вежливо.",
        "Цена высокая, но качество хорошее.",
    ],
    "ar": [
        "المنتج ممتاز وأنا راضٍ جداً عنه.",
        "كان التوصيل بطيئاً جداً.",
        "خدمة العملاء كانت مهذبة وسريعة.",
        "السعر مرتفع لكن الجودة جيدة.",
    ],
    "fr": [
        "Très bon produit, je suis très satisfait.",
        "La livraison était beaucoup trop lente.",
        "Le service client a été poli et rapide.",
        "Ça marche très bien, déçu par rien.",
        "L'emballage était abîmé à la réception.",
    ],
    "de": [
        "Sehr gutes Produkt, ich bin zufrieden.",
        "Die Lieferung dauerte viel zu lange – schade.",
        "Der Kundendienst war höflich und schnell.",
        "Größe passt, Farbe ist schön.",
    ],
    "pl": [
        "Świetny produkt, jestem bardzo zadowolony.",
        "Dostawa trwała zdecydowanie za długo.",
        "Obsługa klienta była uprzejma i szybka.",
        "Cena wysoka, ale jakość dobra.",
    ],
}
LABELS = ["positive", "negative", "neutral"]
ALL_TEXTS = [t for key in ("zh", "ja", "ko", "ru", "ar", "fr", "de") for t in TEXTS[key]]


def sample_frame(texts: list[str], rows: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    return pd.DataFrame(
        {
            "id": [str(i) for i in range(rows)],
            "text": [rng.choice(texts) for _ in range(rows)],
            "label": [rng.choice(LABELS) for _ in range(rows)],
        },
        dtype="string",
    )


def csv_text(frame: pd.DataFrame, delimiter: str = ",", newline: str = "\r\n") -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, sep=delimiter, lineterminator=newline)
    return buffer.getvalue()


def assert_same(read: TableRead, frame: pd.DataFrame) -> None:
    assert list(read.frame.columns) == list(frame.columns)
    assert (
        read.frame.astype(object).where(read.frame.notna(), None).values.tolist()
        == frame.astype(object).where(frame.notna(), None).values.tolist()
    )


def expect_error(msgid: str, path: Path, **options) -> UserError:
    with pytest.raises(UserError) as caught:
        read_table(path, **options)
    assert caught.value.msgid == msgid, caught.value.message
    assert caught.value.params.get("name", path.name) == path.name
    return caught.value
