"""The trainer on a tiny real corpus: every variant, reproducibility, resume, and the bundle round trip."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from index.catalogue.db import Catalogue
from model.bundle import Bundle, UnknownTagsError
from model.cache import FeatureCache
from model.config import VARIANTS
from model.features import FeatureConfig
from model.networks import AudioTagModel
from tests.conftest import run_cli, tone
from trainer.bundle_writer import write_training_bundle
from trainer.config import RECIPES, TrainConfig, recipe
from trainer.data import DataError, load_training_data
from trainer.loop import model_config, train
from trainer.optim import parameter_groups
from trainer.stopping import StopRequest

TINY = TrainConfig(epochs=1, batch_size=8, word_vector_epochs=5, val_fraction=0.3)


@pytest.fixture(scope="module")
def data(corpus: Path):
    cat = Catalogue(f"sqlite:///{corpus / 'data' / 'catalogue.db'}")
    yield load_training_data(cat, FeatureCache(corpus / "data/cache/features"), val_fraction=0.3)
    cat.close()


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_training_data(data) -> None:
    assert len(data.train) + len(data.val) == 24 and len(data.val) >= 2
    assert data.train.patches.shape[1:] == (96, 96) and data.train.patches.dtype == np.float16
    assert data.train.patches.min() >= 0 and data.train.patches.max() <= 1
    assert "field" not in data.vocabulary  # on every clip: dropped by the 70 % rule
    assert all(1 <= len(t) <= 10 for t in data.train.tags)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_trains_one_epoch(name: str, data, tmp_path: Path) -> None:
    result = train(data, replace(TINY, variant=name), tmp_path / "run", progress=False)
    [epoch] = result.history
    assert np.isfinite(epoch["train"]["loss"]) and "recall@10" in epoch["val"]
    # GloVe's 50-d vectors are projected to the variant's F_w by a learned input layer
    assert result.word_vectors.vector_size == 50 and result.model.cfg.word_input_dim == 50
    assert result.model.cfg.word_dim == VARIANTS[name].word_dim


def test_paper_recipe_trains_word2vec_on_the_tags(data, tmp_path: Path) -> None:
    cfg = replace(RECIPES["paper"], epochs=1, batch_size=8, word_vector_epochs=5, val_fraction=0.3)
    result = train(data, cfg, tmp_path / "run", progress=False)
    assert result.word_vectors.vector_size == 128 and result.model.cfg.word_input_dim == 0
    assert result.model.cfg.encoder_dropout == 0.25 and result.best_epoch is None
    assert set(result.word_vectors.key_to_index) >= set(data.vocabulary.words)


def test_recipe_flags_override_the_recipe() -> None:
    cfg = recipe("paper", lr=0.01, epochs=None)
    assert cfg.lr == 0.01 and cfg.epochs == RECIPES["paper"].epochs and cfg.optimizer == "sgd"
    with pytest.raises(ValueError, match="unknown recipe"):
        recipe("fastest")
    with pytest.raises(ValueError, match="a share of the learning rate, 0 to 1"):
        TrainConfig(encoder_lr=1.5)
    # the default keeps the one parameter group of before, so checkpoints from then still resume
    model = AudioTagModel(model_config(TrainConfig(), 50))
    [group] = parameter_groups(model, 1.0)
    assert len(group["params"]) == len(list(model.parameters()))


def test_losses_fall_and_training_is_reproducible(data, tmp_path: Path) -> None:
    cfg = replace(TINY, epochs=3)
    a = train(data, cfg, tmp_path / "a", progress=False)
    b = train(data, cfg, tmp_path / "b", progress=False)
    assert a.history[-1]["train"]["recon_loss"] < a.history[0]["train"]["recon_loss"]
    assert [h["train"] for h in a.history] == [h["train"] for h in b.history]
    wa, wb = _weights(a.model), _weights(b.model)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.parametrize("average", [0.0, 0.5])
def test_resume_continues_where_it_stopped(average: float, data, tmp_path: Path, monkeypatch) -> None:
    cfg = replace(TINY, epochs=3, average_weights=average)
    straight = train(data, cfg, tmp_path / "straight", progress=False)

    import trainer.loop

    real_save = trainer.loop.save_checkpoint

    def save_then_die(run_dir, *args, **kwargs) -> None:  # the process is killed after epoch 2's checkpoint
        real_save(run_dir, *args, **kwargs)
        if args[-1]["epoch"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer.loop, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(data, cfg, tmp_path / "stopped", progress=False)
    monkeypatch.setattr(trainer.loop, "save_checkpoint", real_save)
    resumed = train(data, cfg, tmp_path / "stopped", resume=True, progress=False)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert resumed.history == straight.history and resumed.best_epoch == straight.best_epoch
    ws, wr = _weights(straight.model), _weights(resumed.model)
    assert all(torch.equal(ws[k], wr[k]) for k in ws)


def test_ctrl_c_ends_the_run_at_its_last_whole_epoch_and_resume_finishes_it(
    data, corpus: Path, tmp_path: Path, monkeypatch
) -> None:
    cfg = replace(TINY, epochs=4)
    straight = train(data, cfg, tmp_path / "straight", progress=False)

    import trainer.loop

    per_epoch = (len(data.train) - cfg.batch_size) // cfg.batch_size + 1
    real_batches, calls = trainer.loop.Batches.__call__, []

    def interrupted_in_epoch_3(self, idx):  # Ctrl-C as epoch 3's second batch is drawn
        calls.append(1)
        if len(calls) == 2 * per_epoch + 2:
            os.kill(os.getpid(), signal.SIGINT)
        return real_batches(self, idx)

    monkeypatch.setattr(trainer.loop.Batches, "__call__", interrupted_in_epoch_3)
    before = signal.getsignal(signal.SIGINT)  # Python's own, or SIG_IGN in a shell's background job
    stopped = train(data, cfg, tmp_path / "run", progress=False)
    monkeypatch.setattr(trainer.loop.Batches, "__call__", real_batches)
    assert stopped.stopped_after == 2 and stopped.history == straight.history[:2]
    assert stopped.best_epoch == trainer.loop._best_epoch(straight.history[:2])
    assert signal.getsignal(signal.SIGINT) is before  # Ctrl-C means what it meant before the run
    manifest = json.loads(
        (write_training_bundle(tmp_path / "b", cfg, stopped, FeatureConfig()) / "manifest.json").read_text()
    )
    assert manifest["stopped_after_epoch"] == 2 and manifest["train_config"]["epochs"] == 4

    resumed = train(data, cfg, tmp_path / "run", resume=True, progress=False)  # the dropped epoch again
    assert resumed.stopped_after is None and resumed.history == straight.history
    ws, wr = _weights(straight.model), _weights(resumed.model)
    assert all(torch.equal(ws[k], wr[k]) for k in ws)


def test_a_second_ctrl_c_stops_at_once() -> None:
    with StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.asked
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)


def test_a_weight_average_is_validated_beside_the_weights_and_the_better_kept(data, tmp_path: Path) -> None:
    result = train(data, replace(TINY, epochs=3, average_weights=0.5), tmp_path / "run", progress=False)
    for h in result.history:
        raw, average = h["val_raw"]["recall@10"], h["val_average"]["recall@10"]
        assert h["weights"] == ("average" if average > raw else "raw")
        assert h["val"] == (h["val_average"] if h["weights"] == "average" else h["val_raw"])
    moved = _weights(result.model)
    plain = train(data, replace(TINY, epochs=3), tmp_path / "plain", progress=False)
    assert [h["train"] for h in result.history] == [h["train"] for h in plain.history]  # it only watches
    kept = next(h for h in result.history if h["epoch"] == result.best_epoch)
    same = all(torch.equal(moved[k], v) for k, v in _weights(plain.model).items())
    assert same == (kept["weights"] == "raw" and result.best_epoch == plain.best_epoch)


def test_the_weight_average_moves_each_tensor_part_of_the_way() -> None:
    from trainer.averaging import WeightAverage

    model = torch.nn.BatchNorm1d(2)
    average = WeightAverage(model, 0.75)
    with torch.no_grad():
        model.weight.fill_(5.0)
    model(torch.randn(4, 2))  # one training step of BatchNorm's statistics
    average.update(model)
    assert torch.allclose(average.module.weight, torch.full((2,), 2.0))  # 1 + 0.25 · (5 − 1)
    assert int(average.module.num_batches_tracked) == 1
    with pytest.raises(ValueError, match="between 0 and 1"):
        WeightAverage(model, 1.0)


def test_bundle_round_trip_in_a_fresh_process(data, corpus: Path, tmp_path: Path) -> None:
    result = train(data, TINY, tmp_path / "run", progress=False)
    cache = FeatureCache(corpus / "data/cache/features")
    path = write_training_bundle(tmp_path / "bundles", TINY, result, cache.config)
    assert {"manifest.json", "weights.safetensors", "word_vectors.kv", "vocabulary.json", "curves.png"} <= {
        p.name for p in path.iterdir()
    }
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["variant"] == "w2v-128-4h" and manifest["libraries"]["torch"]
    assert manifest["corpus"]["train_clips"] == len(data.train)

    bundle = Bundle(path, device="cpu")
    wave = tone(330.0, 2.0, sr=44100)
    z, phi = bundle.embed_audio(wave, 44100)
    assert z.shape == (1152,) and phi.shape == (128,)
    word = data.vocabulary.words[0]
    emb = bundle.embed_tags([word.upper(), "qwxzv"])
    assert emb.words == [word] and emb.unknown == ["qwxzv"]
    with pytest.raises(UnknownTagsError):
        bundle.embed_tags(["qwxzv", "the"])

    np.save(tmp_path / "wave.npy", wave)
    script = (
        "import json, sys, numpy as np; from model.bundle import load\n"
        f"b = load({str(path)!r}, device='cpu'); w = np.load({str(tmp_path / 'wave.npy')!r})\n"
        "z, phi = b.embed_audio(w, 44100); t = b.embed_tags([sys.argv[1]])\n"
        "print(json.dumps({'z': z.tolist(), 'phi': phi.tolist(), 'tags': t.vector.tolist()}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, word], capture_output=True, text=True, check=True)
    fresh = json.loads(proc.stdout)
    assert np.allclose(fresh["z"], z, atol=1e-5) and np.allclose(fresh["phi"], phi, atol=1e-5)
    assert np.allclose(fresh["tags"], emb.vector, atol=1e-5)


def test_train_command_end_to_end(corpus: Path, tmp_path: Path) -> None:
    env = {"AUDIOTAG_DATA_DIR": str(corpus / "data")}
    train = ["train", "--epochs", "1", "--batch-size", "8", "--variant", "w2v-128-mean", "--tau", "0.2"]
    proc = run_cli(*train, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "recall@10" in proc.stdout
    bundles = list((corpus / "data" / "bundles").iterdir())
    assert len(bundles) == 1 and (bundles[0] / "curves.png").stat().st_size > 0
    manifest = json.loads((bundles[0] / "manifest.json").read_text())
    assert manifest["train_config"]["tau"] == 0.2  # and the bundle scores at its own τ (test_tags.py)
    for args, message in [
        (["--tau", "0"], "Invalid value for '--tau'"),
        (["--variant", "w2v-7-9h"], "unknown variant"),
        (["--recipe", "fastest"], "unknown recipe 'fastest'"),
        (["--crops", "weird"], "unknown crops 'weird'"),
        (["--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'"),
    ]:
        bad = run_cli("train", *args, env=env)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr, args


def test_empty_catalogue_is_a_clear_error(tmp_path: Path) -> None:
    cat = Catalogue(f"sqlite:///{tmp_path / 'c.db'}")
    with pytest.raises(DataError, match="ingest a corpus first"):
        load_training_data(cat, FeatureCache(tmp_path / "f"))
    proc = run_cli("train", env={"AUDIOTAG_DATA_DIR": str(tmp_path / "empty")})
    assert proc.returncode == 2 and "ingest a corpus first" in proc.stderr


def test_inference_bundle_is_compact_and_embeds_alike(
    data, corpus: Path, tmp_path: Path, monkeypatch
) -> None:
    from safetensors.torch import load_file

    import model.bundles as bundles

    result = train(data, TINY, tmp_path / "run", progress=False)
    cache = FeatureCache(corpus / "data/cache/features")
    full_path = write_training_bundle(tmp_path / "bundles", TINY, result, cache.config)
    proc = run_cli("export", str(full_path), "--out", str(tmp_path / "shipped"))
    assert proc.returncode == 0, proc.stderr
    small_path = tmp_path / "shipped"
    weights = load_file(str(small_path / "weights.safetensors"))
    assert not any(k.startswith("audio_decoder.") for k in weights)
    assert {v.dtype for v in weights.values() if v.is_floating_point()} == {torch.float16}
    size = sum(f.stat().st_size for f in small_path.iterdir())
    assert size < 0.5 * sum(f.stat().st_size for f in full_path.iterdir() if f.suffix != ".png")

    full, small = Bundle(full_path, "cpu"), Bundle(small_path, "cpu")
    wave = tone(330.0, 2.0, sr=44100)
    (z1, p1), (z2, p2) = full.embed_audio(wave, 44100), small.embed_audio(wave, 44100)
    assert float(z1 @ z2) > 0.999 and float(p1 @ p2) > 0.999
    t1, t2 = full.embed_tags(["rain", "door"]), small.embed_tags(["rain", "door"])
    assert float(t1.vector @ t2.vector) > 0.999
    assert small.embed_tags(["hihat", "qwxzv"]).words == ["hihat"]  # two common words run together

    # With no bundle of the user's, the shipped one is the default, found by its version too.
    monkeypatch.setattr(bundles, "SHIPPED", small_path)
    assert bundles.default_bundle(tmp_path / "none") == small_path
    assert bundles.bundle_by_version(tmp_path / "none", small.version) == small_path
    assert bundles.default_bundle(tmp_path / "bundles") == full_path


def test_wide_word_vectors_are_folded_to_glove_size_on_export(data, corpus: Path, tmp_path: Path) -> None:
    """Vectors of 80 numbers whose last 30 are a mix of the first 50 (rank 50, as GloVe + MiniLM's
    434 are wide but what the projection reads is what counts): the export keeps 50 a word, and the
    copy embeds tags as the bundle does."""
    from gensim.models import KeyedVectors

    from model.word_vectors import load_glove

    glove = load_glove(20_000)
    mixed = glove.vectors @ np.random.default_rng(0).normal(size=(50, 30)).astype(np.float32)
    wide = KeyedVectors(80)
    wide.add_vectors(list(glove.index_to_key), np.concatenate([glove.vectors, mixed], axis=1))
    wide.save(str(tmp_path / "wide.kv"))
    cfg = replace(TINY, word_vectors=str(tmp_path / "wide.kv"))
    result = train(data, cfg, tmp_path / "run", progress=False)
    cache = FeatureCache(corpus / "data/cache/features")
    full_path = write_training_bundle(tmp_path / "bundles", cfg, result, cache.config)
    proc = run_cli("export", str(full_path), "--out", str(tmp_path / "shipped"))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "shipped" / "manifest.json").read_text())
    assert manifest["model"]["word_input_dim"] == 50
    assert manifest["word_vectors"]["dim"] == 50 and manifest["word_vectors"]["folded_from"] == 80
    assert manifest["word_vectors"]["energy_kept"] > 0.9999
    full, small = Bundle(full_path, "cpu"), Bundle(tmp_path / "shipped", "cpu")
    assert small.word_vectors.vector_size == 50
    for words in (["rain", "door"], ["dog"], ["hihat", "metal"]):
        assert float(full.embed_tags(words).vector @ small.embed_tags(words).vector) > 0.999, words


def test_recorded_command_leaves_the_machines_paths_out() -> None:
    from app.cli_train import recorded_command
    from trainer.bundle_writer import public_config
    from trainer.config import TrainConfig

    argv = ["--data-dir", "/home/me/data", "--database-url=postgresql://u:pw@h/db", "train", "--epochs", "3"]
    command = recorded_command(argv)
    assert command == "audiotag --data-dir DATA_DIR --database-url=DATABASE_URL train --epochs 3"
    pretrained = recorded_command(["train", "--init-encoder", "/home/me/runs/encoder.safetensors"])
    assert pretrained == "audiotag train --init-encoder ENCODER"
    config = public_config(TrainConfig(init_encoder="/home/me/runs/encoder.safetensors"))
    assert config["init_encoder"] == "encoder.safetensors"
    assert public_config(TrainConfig(word_vectors="/home/me/vectors/mine.kv"))["word_vectors"] == "mine.kv"
    assert public_config(TrainConfig(word_vectors="glove+minilm"))["word_vectors"] == "glove+minilm"


def test_balanced_epochs_draw_each_category_about_equally_often() -> None:
    from index.corpus.coverage import categories_of
    from trainer.sampling import category_weights, epoch_order

    tags = [["guitar"]] * 90 + [["dog"]] * 9 + [["engine"]]
    w = category_weights(tags)
    assert w.sum() == pytest.approx(1.0)
    drawn = torch.cat([epoch_order(len(tags), w, torch.Generator().manual_seed(s)) for s in range(300)])
    drawn_categories = [categories_of(tags[i]) for i in drawn.tolist()]
    share = {c: np.mean([cats == [c] for cats in drawn_categories]) for c in ("animals", "vehicles")}
    assert all(0.30 < v < 0.37 for v in share.values()), share  # a third each, not 9 % and 1 %
    order = epoch_order(len(tags), None, torch.Generator().manual_seed(0))
    assert sorted(order.tolist()) == list(range(100))  # unbalanced: every clip once
