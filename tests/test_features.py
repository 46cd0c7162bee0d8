"""Log-mel features, the two patch views, scaling, and the on-disk cache."""

from __future__ import annotations

import json

import numpy as np

from model.cache import FeatureCache
from model.features import FeatureConfig, Scaler, all_patches, best_patch, log_mel
from tests.conftest import tone

CFG = FeatureConfig()


def test_log_mel_shape_and_hop():
    x = tone(seconds=3.0)
    m = log_mel(x)
    assert m.shape == (96, 3 * 22050 // 512 + 1)
    assert m.dtype == np.float32
    assert m.min() >= CFG.pad_value - 1e-5


def test_best_patch_finds_the_loud_part():
    sr = 22050
    quiet = 0.001 * np.random.default_rng(0).standard_normal(sr * 4).astype(np.float32)
    loud = tone(1000, 1.0)
    x = np.concatenate([quiet[: sr * 3], loud, quiet[: sr * 3]])
    m = log_mel(x)
    p = best_patch(m)
    assert p.shape == (96, 96)
    # the loud second (frames ~129..172) lies inside the chosen window
    energy = np.exp(m).sum(axis=0)
    start = int(np.argmax([np.exp(m[:, i : i + 96]).sum() for i in range(m.shape[1] - 95)]))
    assert np.allclose(p, m[:, start : start + 96])
    assert start <= int(np.argmax(energy)) < start + 96


def test_short_clip_is_padded_deterministically():
    m = log_mel(tone(seconds=0.5))
    a, b = best_patch(m), best_patch(m)
    assert a.shape == (96, 96)
    assert np.array_equal(a, b)
    assert np.all(a[:, m.shape[1] :] == CFG.pad_value)


def test_all_patches_non_overlapping():
    m = np.arange(96 * 250, dtype=np.float32).reshape(96, 250)
    p = all_patches(m)
    assert p.shape == (3, 96, 96)  # 2 full windows + a 58-frame tail (>= half a patch), padded
    assert np.array_equal(p[1], m[:, 96:192])
    assert np.all(p[2][:, 58:] == CFG.pad_value)
    assert all_patches(m[:, :200]).shape == (2, 96, 96)  # an 8-frame tail is dropped
    assert all_patches(m[:, :10]).shape == (1, 96, 96)


def test_scaler_maps_to_unit_range():
    patches = np.stack([best_patch(log_mel(tone(f, 1.0))) for f in (200, 800, 3000)])
    s = Scaler.fit(patches)
    y = s(patches)
    assert y.min() >= 0 and y.max() <= 1
    assert s.low == CFG.pad_value
    assert Scaler.from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_feature_config_key_changes_with_settings():
    default = FeatureConfig()
    assert FeatureConfig(**default.to_dict()).key == default.key  # the same settings, spelt out
    changed = [FeatureConfig(n_mels=64), FeatureConfig(hop_length=256), FeatureConfig(sample_rate=16000)]
    assert len({default.key, *(c.key for c in changed)}) == 4


def test_cache_round_trip_and_reopen(tmp_path):
    cache = FeatureCache(tmp_path)
    a, b = log_mel(tone(300)), log_mel(tone(600, 2.0))
    cache.add("a", a)
    cache.add("b", b)
    cache.flush()
    again = FeatureCache(tmp_path)
    assert len(again) == 2 and "a" in again
    assert np.allclose(again.get("a"), a, atol=0.01)  # float16 storage
    assert again.get("b").shape == b.shape


def test_cache_recovers_from_a_crash_between_frames_and_index(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.add("a", log_mel(tone(300)))
    cache.flush()
    frames = cache.dir / "frames.f16"
    with open(frames, "ab") as f:  # rows written, index never updated: a crash
        f.write(b"\x00" * 96 * 2 * 7)
    again = FeatureCache(tmp_path)
    assert "ghost" not in again
    b = log_mel(tone(900))
    again.add("b", b)
    again.flush()
    third = FeatureCache(tmp_path)
    assert np.allclose(third.get("b"), b, atol=0.01)
    assert frames.stat().st_size == sum(n for _, n in third.index.values()) * 96 * 2


def test_numpy_log_mel_matches_torchaudio() -> None:
    """The numpy implementation computes what torchaudio's MelSpectrogram (Slaney, power 1) does."""
    import torch
    import torchaudio

    wave = tone(523.0, 1.3, seed=3)
    ref = torchaudio.transforms.MelSpectrogram(
        sample_rate=22050,
        n_fft=1024,
        hop_length=512,
        n_mels=96,
        window_fn=torch.hamming_window,
        power=1.0,
        norm="slaney",
        mel_scale="slaney",
    )(torch.from_numpy(wave))
    expected = torch.log(ref.clamp_min(CFG.log_floor)).numpy()
    got = log_mel(wave, CFG)
    assert got.shape == expected.shape == (96, 1 + len(wave) // 512)
    assert np.abs(got - expected).max() < 1e-3
