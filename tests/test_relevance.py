"""Relevance 0–100 (index/relevance.py): the isotonic fit, the curves a version keeps, and the check
on held-out words (trainer/eval/relevance.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.hybrid import Match
from index.relevance import FILE, Curve, Relevance, held_out, isotonic
from tests.conftest import indexed_copy


def test_isotonic_fit_is_monotone_and_follows_the_labels() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 5000)
    y = (rng.uniform(0, 1, 5000) < x**2).astype(float)  # P(relevant | x) = x²
    curve = isotonic(x, y)
    assert all(b >= a for a, b in zip(curve.y, curve.y[1:], strict=False))
    assert len(curve.x) <= 64 and curve.points == 5000
    for value in (0.2, 0.5, 0.8):
        assert abs(curve(value) - value**2) < 0.08


def test_violators_are_pooled() -> None:
    curve = isotonic(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.0, 1.0, 0.0, 1.0]), bins=4)
    assert curve.y == (0.0, 0.5, 1.0) and curve.x == (0.1, 0.25, 0.4)


def test_a_version_without_curves_keeps_the_plain_scale(tmp_path: Path) -> None:
    plain = Relevance.load(tmp_path)
    assert plain.of("sound", 0.42) == 42 and plain.of("similar", -0.3) == 0
    assert plain.of_match(Match(1, 0.05, ("dog",), 0.9, 0.1, 0.3), "hybrid", 2) == 50
    assert plain.of_match(Match(1, 0.05, (), 0.0, 1.0, 0.3), "hybrid", 2) == 30


def test_a_hybrid_result_found_by_its_sound_reads_the_curve_of_its_kind() -> None:
    fitted = Relevance(
        {"sound": Curve((0.0, 1.0), (0.0, 0.8), 300), "unmatched": Curve((0.0, 1.0), (0.0, 0.1), 300)}
    )
    by_sound = Match(1, 0.01, (), 0.0, 1.0, 0.5)
    assert fitted.of_match(by_sound, "hybrid", 1, tagged=False) == 40  # no tags: how its sound reads
    assert fitted.of_match(by_sound, "hybrid", 1, tagged=True) == 5  # its tags lack the words
    assert fitted.of_match(by_sound, "sound", 1, tagged=True) == 40


def test_curves_survive_a_save_and_load(tmp_path: Path) -> None:
    fitted = Relevance({"sound": Curve((0.2, 0.8), (0.0, 0.6), 300)})
    fitted.save(tmp_path)
    again = Relevance.load(tmp_path)
    assert again.curves == fitted.curves and again.of("sound", 0.5) == 30
    assert again.of("text", 0.5) == 50  # no curve: the plain scale
    assert (tmp_path / FILE).exists()


def test_half_the_words_are_held_out_stably() -> None:
    words = [f"word{i}" for i in range(400)]
    share = sum(map(held_out, words)) / len(words)
    assert 0.4 < share < 0.6 and [held_out(w) for w in words] == [held_out(w) for w in words]


def test_every_build_fits_curves_and_the_check_reads_them(trained_data_dir: Path, tmp_path: Path) -> None:
    from app.runtime import Runtime
    from app.settings import Settings
    from index import versions
    from trainer.eval.relevance import ece, markdown, served

    data = indexed_copy(trained_data_dir, tmp_path)
    folder = versions.current_dir(data / "indices")
    assert (folder / FILE).exists()
    rt = Runtime(Settings(data_dir=data))
    index = rt.search_index(folder)
    assert "similar" in index.relevance.curves  # 24 tagged clips give enough neighbour pairs
    calibrated, plain = served(index)
    p, y = calibrated.arrays("similar")
    assert len(p) and 0 <= ece(p, y) <= 100 and np.all((p >= 0) & (p <= 1))
    assert "| similar |" in markdown(index, calibrated, plain)


def test_a_curve_reads_like_np_interp() -> None:
    curve = Curve((0.1, 0.4, 0.4000001, 0.9), (0.0, 0.2, 0.5, 0.9), 300)
    for value in (-1.0, 0.1, 0.25, 0.4, 0.6, 0.9, 2.0):
        assert abs(curve(value) - float(np.interp(value, curve.x, curve.y))) < 1e-9
