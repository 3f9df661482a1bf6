"""Pretrained models that ship offline inside Python packages.

Each backbone module exposes the same small surface: ``load_model()``,
``load_feature_extractor()``, ``preprocess_config()``, ``class_names()`` and
``weights_sha256()``. Importing this package is cheap; torch, timm and
onnxruntime load only when a model is actually built.
"""

from __future__ import annotations

#: The image backbone used when the user has not trained a model of their own.
BUILTIN_IMAGE_BACKBONE = "efficientnet_lite0.in1k"
