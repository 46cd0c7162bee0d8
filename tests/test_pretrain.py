"""Self-supervised pre-training of the audio encoder: its views, its run and its hand-over to training."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from index.catalogue.db import Catalogue
from model.cache import FeatureCache
from tests.conftest import run_cli, tone, write_audio
from trainer.config import TrainConfig
from trainer.data import load_training_data, load_unlabelled
from trainer.loop import train
from trainer.pretrain import ENCODER, PretrainConfig, log_mixup, random_resized_crops, two_views


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_views_are_scaled_log_mel_of_the_same_clip_and_silence_stays_silence() -> None:
    regions = torch.rand(6, 96, 192) * 0.8
    regions[0] = 0.0  # a silent clip
    lengths = torch.tensor([192, 192, 50, 192, 120, 192])
    cfg = replace(PretrainConfig(), mix_ratio=0.0)
    a, b = two_views(regions, lengths, 96, 8.0, cfg, _gen())
    assert a.shape == b.shape == (6, 96, 96)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert float(a[0].abs().max()) == 0.0 and float(b[0].abs().max()) == 0.0
    assert not torch.equal(a, b)  # two different views


def test_mixing_adds_magnitudes_up_to_the_share() -> None:
    x = torch.zeros(2, 4, 4)
    x[1] = 0.5
    mixed = log_mixup(x, 10.0, 0.4, _gen())
    # magnitudes: silence is e^0 = 1, so the silent clip rises by at most log(1 + 0.4 (e^5 − 1)) / 10
    assert float(mixed[0].min()) >= 0.0 and float(mixed[0].max()) <= np.log(1 + 0.4 * (np.exp(5) - 1)) / 10
    assert float(mixed[1].max()) <= 0.5 + 1e-6  # mixed with silence it only gets quieter
    assert torch.equal(log_mixup(x, 10.0, 0.0, _gen()), x)


def test_a_resized_crop_of_scale_one_is_the_clip_and_other_scales_stretch_it() -> None:
    x = torch.rand(3, 96, 96)
    assert torch.allclose(random_resized_crops(x, 1.0, 1.0, _gen()), x, atol=1e-4)
    zoomed = random_resized_crops(x, 0.6, 0.6, _gen())
    assert zoomed.shape == x.shape and not torch.allclose(zoomed, x)
    wide = random_resized_crops(torch.ones(1, 96, 96), 1.5, 1.5, _gen())
    assert float(wide.min()) == 0.0  # beyond the clip: silence


def test_the_held_out_clips_are_those_training_holds_out(corpus: Path) -> None:
    cat = Catalogue(f"sqlite:///{corpus / 'data' / 'catalogue.db'}")
    cache = FeatureCache(corpus / "data/cache/features")
    extra = [np.full((96, 40), -5.0, np.float32)]
    pool = load_unlabelled(cat, cache, extra, val_fraction=0.3)
    data = load_training_data(cat, cache, val_fraction=0.3)
    cat.close()
    assert len(pool.val_lengths) == len(data.val) and len(pool.train_lengths) == len(data.train) + 1
    assert pool.train_regions.shape[1:] == (96, 192) and pool.scaler.low == data.scaler.low
    assert 40 in pool.train_lengths.tolist()  # the extra clip trains, never validates


def test_pretrain_then_train_from_its_encoder(corpus: Path, tmp_path: Path) -> None:
    env = {"AUDIOTAG_DATA_DIR": str(corpus / "data")}
    more = tmp_path / "more"
    more.mkdir()
    for i in range(3):
        write_audio(more / f"hum{i}.wav", tone(300 + 50 * i, 1.5, seed=i), 22050, "wav")
    (more / "broken.wav").write_bytes(b"RIFF not audio at all")
    proc = run_cli("pretrain", "--epochs", "2", "--batch-size", "8", "--audio-dir", str(more), env=env)
    assert proc.returncode == 0, proc.stderr
    assert (
        "3 from --audio-dir" in proc.stdout
        and "1 files under --audio-dir could not be decoded" in proc.stdout
    )
    encoder = corpus / "data" / "runs" / "pretrain-w2v-128-4h" / ENCODER
    assert encoder.is_file() and "epoch 2 of 2" in proc.stdout

    # with a learning rate of 0 the convolutions keep the pre-trained weights they start from
    cat = Catalogue(f"sqlite:///{corpus / 'data' / 'catalogue.db'}")
    data = load_training_data(cat, FeatureCache(corpus / "data/cache/features"), val_fraction=0.3)
    cat.close()
    cfg = TrainConfig(epochs=1, batch_size=8, lr=0.0, val_fraction=0.3, init_encoder=str(encoder))
    result = train(data, cfg, tmp_path / "run", progress=False)
    pretrained = load_file(str(encoder))
    trained = result.model.audio_encoder.state_dict()
    convs = [k for k in pretrained if k.endswith("0.weight") and pretrained[k].dim() == 4]
    assert convs and all(torch.equal(trained[k], pretrained[k]) for k in convs)

    # a locked encoder (LiT) keeps every pre-trained tensor, normalisation statistics too, while the
    # projections and the tag encoder learn at the full rate
    locked = train(data, replace(cfg, lr=1e-3, encoder_lr=0.0), tmp_path / "locked", progress=False)
    kept = locked.model.audio_encoder.state_dict()
    assert all(torch.equal(kept[k], pretrained[k]) for k in pretrained)
    start = result.model.audio_projection.linear.weight  # the same seed's, unmoved at lr 0
    assert not torch.equal(locked.model.audio_projection.linear.weight, start)
    assert all(p.requires_grad for p in locked.model.tag_encoder.parameters())

    for args, message in [
        (["--init-encoder", str(tmp_path / "missing.safetensors")], "run `audiotag pretrain` first"),
        (["--init-encoder", str(corpus / "m.jsonl")], "is not an audio encoder of this variant"),
    ]:
        bad = run_cli("train", "--epochs", "1", "--batch-size", "8", *args, env=env)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr, args
    bad = run_cli("train", "--epochs", "1", "--encoder-lr", "0", env=env)
    assert bad.returncode == 2 and "start it from a pre-trained one" in bad.stderr
    bad = run_cli("pretrain", "--audio-dir", str(tmp_path / "nowhere"), env=env)
    assert bad.returncode == 2 and "is not a folder" in bad.stderr


def test_an_encoder_that_does_not_fit_is_refused(corpus: Path, tmp_path: Path) -> None:
    cat = Catalogue(f"sqlite:///{corpus / 'data' / 'catalogue.db'}")
    data = load_training_data(cat, FeatureCache(corpus / "data/cache/features"), val_fraction=0.3)
    cat.close()
    wrong = tmp_path / ENCODER
    save_file({"blocks.0.0.weight": torch.zeros(3, 1, 4, 4)}, str(wrong))
    with pytest.raises(ValueError, match="not an audio encoder of this variant"):
        train(data, TrainConfig(epochs=1, batch_size=8, init_encoder=str(wrong)), tmp_path / "r")
