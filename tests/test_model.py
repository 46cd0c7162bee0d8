"""The networks and losses: shapes, parameter counts, masking, and losses on hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from model.config import VARIANTS, ModelConfig, variant
from model.losses import JointLoss, generalised_kl, nt_xent
from model.networks import AudioTagModel, FastDropout, TagAttentionEncoder, TagMeanEncoder


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_audio_parameter_counts_match_the_reference() -> None:
    m = AudioTagModel(variant("w2v-128-4h"))
    assert _count(m.audio_encoder) == 1_054_848  # ≈ 1.05 M: five conv blocks + LayerNorm(1152)
    assert _count(m.audio_decoder) == 1_052_163
    assert _count(m.audio_encoder) + _count(m.audio_projection) == 1_202_304
    big = AudioTagModel(variant("w2v-1152-1h"))
    assert _count(big.audio_encoder) + _count(big.audio_projection) == 2_381_952


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("w2v-128-mean", 16_640),
        ("w2v-128-1h", 65_792),
        ("w2v-128-4h", 262_400),
        ("w2v-1152-mean", 1_329_408),
        ("w2v-1152-1h", 5_310_720),
        ("w2v-1152-4h", 21_235_968),
    ],
)
def test_tag_encoder_parameter_counts(name: str, params: int) -> None:
    assert _count(AudioTagModel(VARIANTS[name]).tag_encoder) == params


@pytest.mark.parametrize("name", list(VARIANTS))
def test_forward_shapes(name: str) -> None:
    cfg = VARIANTS[name]
    m = AudioTagModel(cfg).eval()
    x, w = torch.rand(3, 1, 96, 96), torch.randn(3, 10, cfg.word_dim)
    mask = torch.tensor([[True] * k + [False] * (10 - k) for k in (1, 4, 10)])
    out = m(x, w, mask)
    assert out["z_a"].shape == (3, 1152)
    assert out["phi_a"].shape == out["phi_w"].shape == (3, cfg.word_dim)
    if cfg.audio_encoder == "cnn":
        assert out["recon"].shape == (3, 1, 96, 96)
        assert out["recon"].min() >= 0 and out["recon"].max() <= 1
    else:  # the yardstick has no decoder, and so no reconstruction term
        assert "recon" not in out and float(JointLoss()(x, out)["recon_loss"]) == 0.0
    z, phi = m.encode_audio(x)
    assert torch.allclose(z.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert torch.allclose(m.encode_tags(w, mask).norm(dim=-1), torch.ones(3), atol=1e-5)


def test_unknown_variant_is_named() -> None:
    with pytest.raises(ValueError, match="w2v-128-4h"):
        variant("w2v-64-2h")


@pytest.mark.parametrize("encoder", [TagAttentionEncoder, TagMeanEncoder])
def test_padding_does_not_change_phi_w(encoder) -> None:
    """Pad slots are masked as keys and as queries: φ_w is the same for 3 tags with 0 or 7 pads."""
    torch.manual_seed(0)
    enc = encoder(ModelConfig(word_dim=16, heads=4)).eval()
    w = torch.randn(2, 3, 16)
    tight = enc(w, torch.ones(2, 3, dtype=torch.bool))
    padded_w = torch.cat([w, torch.randn(2, 7, 16)], dim=1)  # garbage in the pad slots
    padded_mask = torch.cat([torch.ones(2, 3, dtype=torch.bool), torch.zeros(2, 7, dtype=torch.bool)], dim=1)
    assert torch.allclose(enc(padded_w, padded_mask), tight, atol=1e-5)


def test_tag_order_does_not_matter() -> None:
    torch.manual_seed(0)
    enc = TagAttentionEncoder(ModelConfig(word_dim=16, heads=2)).eval()
    w, mask = torch.randn(1, 4, 16), torch.ones(1, 4, dtype=torch.bool)
    assert torch.allclose(enc(w, mask), enc(w[:, [2, 0, 3, 1]], mask), atol=1e-5)


def test_generalised_kl_by_hand() -> None:
    x = torch.full((1, 1, 2, 3), 0.5)
    x_hat = torch.full((1, 1, 2, 3), 0.25)
    eps = 1e-5
    per_cell = 0.5 * (math.log(0.5 + eps) - math.log(0.25 + eps)) + 0.25 - 0.5
    assert generalised_kl(x, x_hat).item() == pytest.approx(3 * per_cell, rel=1e-5)  # summed over 3 frames
    assert generalised_kl(x, x).item() == pytest.approx(0.0, abs=1e-6)


def test_nt_xent_by_hand() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    tau = 0.5
    # Row a_0: positive b_0 (cos 1); negatives a_1 (cos 0), b_1 (cos 0). Every row is alike.
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 2 * math.exp(0)))
    assert nt_xent(a, b, tau).item() == pytest.approx(expected, rel=1e-5)
    assert nt_xent(a, b[[1, 0]], tau).item() > expected  # swapped pairs cost more


def test_joint_loss_names_and_weights() -> None:
    torch.manual_seed(0)
    x = torch.rand(4, 1, 96, 96)
    out = {"recon": torch.rand(4, 1, 96, 96), "phi_a": torch.randn(4, 8), "phi_w": torch.randn(4, 8)}
    terms = JointLoss(recon_weight=5, contrastive_weight=10, tau=0.1)(x, out)
    assert set(terms) == {"loss", "recon_loss", "contrastive_loss"}
    assert terms["loss"].item() == pytest.approx(
        5 * terms["recon_loss"].item() + 10 * terms["contrastive_loss"].item(), rel=1e-5
    )


def test_fast_dropout_rate_and_scale() -> None:
    torch.manual_seed(0)
    d = FastDropout(0.25).train()
    y = d(torch.ones(200_000))
    assert (y == 0).float().mean().item() == pytest.approx(0.25, abs=0.01)
    assert y.mean().item() == pytest.approx(1.0, abs=0.02)
    assert torch.equal(d.eval()(torch.ones(5)), torch.ones(5))


def test_yardstick_reads_the_baselines_mfcc_statistics() -> None:
    """The MFCC-MLP encoder's input is the evaluation's 120-d MFCC baseline of the same patch."""
    import numpy as np

    from model.networks import MfccEncoder
    from trainer.eval.baseline import mfcc_embedding

    enc = MfccEncoder(VARIANTS["mfcc-mlp-128-4h"])
    x = torch.rand(2, 1, 96, 96)
    c = enc.dct @ x[:, 0]
    d1 = enc.deltas(c)
    feats = torch.cat([c, d1, enc.deltas(d1)], dim=1)
    ours = torch.cat([feats.mean(dim=-1), feats.std(dim=-1, correction=0)], dim=1)
    for i in range(2):
        assert np.allclose(ours[i].numpy(), mfcc_embedding(x[i, 0].numpy()), atol=1e-4)


def test_soft_contrastive_targets_count_overlapping_tags_as_partial_positives() -> None:
    from model.losses import nt_xent, tag_overlap

    rows = torch.tensor([[3, 4, 0], [3, 4, 0], [5, 0, 0], [3, 0, 0]])
    overlap = tag_overlap(rows)
    assert overlap.diagonal().tolist() == [1.0] * 4
    assert overlap[0, 1] == 1.0 and overlap[0, 2] == 0.0 and overlap[0, 3] == pytest.approx(0.5)
    a = torch.eye(4, 8)
    assert torch.allclose(nt_xent(a, a, 0.1, overlap, soft=0.0), nt_xent(a, a, 0.1))
    # clips 0 and 1 share every tag: with full soft targets, each one's audio beside the other's text
    # costs what it costs beside its own; with hard targets it is all wrong
    swapped = a[[1, 0, 2, 3]]
    assert nt_xent(a, swapped, 0.1, overlap, soft=1.0) == pytest.approx(
        float(nt_xent(a, a, 0.1, overlap, 1.0))
    )
    assert nt_xent(a, swapped, 0.1) > nt_xent(a, a, 0.1) + 1.0
