"""The NumPy tag encoder (model/numpy_tags.py) gives the torch encoder's φ_w."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from model.bundle import Bundle
from model.config import ModelConfig
from model.networks import AudioTagModel
from model.numpy_tags import NumpyTagEncoder

SHIPPED = Path(__file__).parents[1] / "model" / "shipped"


def _torch_phi(model: AudioTagModel, w: np.ndarray, mask: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model.encode_tags(torch.from_numpy(w), torch.from_numpy(mask)).numpy()


@pytest.mark.parametrize("heads", [4, 0])  # attention, and the `mean` variant
def test_numpy_and_torch_encoders_agree(heads: int) -> None:
    torch.manual_seed(0)
    model = AudioTagModel(ModelConfig(heads=heads, word_input_dim=50)).eval()
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 5, 50)).astype(np.float32)
    mask = np.array(
        [[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0, 1, 0, 1, 0], [1, 1, 0, 0, 0], [0] * 5], bool
    )
    np.testing.assert_allclose(NumpyTagEncoder(model)(w, mask), _torch_phi(model, w, mask), atol=2e-5)


def test_the_shipped_bundle_embeds_tags_through_numpy_on_cpu() -> None:
    bundle = Bundle(SHIPPED, "cpu")
    assert bundle.numpy_tags is not None
    sets = [["dog", "bark"], ["rain"], ["glass", "break", "shatter"]]
    sets = [bundle.split_known(s)[0] for s in sets]
    served = bundle.embed_tag_sets(sets)
    bundle.numpy_tags = None  # the torch path
    np.testing.assert_allclose(served, bundle.embed_tag_sets(sets), atol=2e-5)
