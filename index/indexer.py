"""Embed every sound of the catalogue and write an index version, in stages:
plan → decode → embed → write shards → build indices → publish.

- plan (index/plan.py): every live sound, in id order (the query is in index/catalogue/queries.py);
- decode (index/decode.py, one implementation): the files the feature cache lacks, ahead of the
  embedding in worker processes;
- embed: the bundle's encoder over all non-overlapping patches of each clip, mean-pooled, here or
  in Ray tasks (index/ray_build.py) behind the same shard layout and writer;
- write shards (index/shards.py): vectors and ids in shards of `shard_size` sounds, each saved
  atomically in the build's work folder, so a build killed at any point resumes from its last
  finished shard;
- build: FAISS indices of φ_a and z_a, each centred (index/centres.py), the catalogue's tag
  contexts (index/contexts.py) and the sounds' words (index/text_index.py), in a staging folder;
- publish: the one fsyncing publisher (model/files.publish_folder, through index/versions.py).
`update_version` adds what the catalogue gained and drops what it lost, without re-embedding.
The query side (index/search.py) imports none of these stages.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index import hubness, relevance, tag_votes, text_index, vector_index, versions
from index.catalogue.db import Catalogue
from index.catalogue.queries import live_metadata, live_sound_files, live_sounds_with_words
from index.centres import Centres, centred
from index.contexts import TagContexts
from index.decode import decode_missing, fill_cache
from index.plan import Corpus, Plan, Report, live_plan
from index.plan import quiet as _quiet
from index.scoring import Scorer
from index.shards import load_shards, shard_layout, write_shard
from index.text_index import TextIndex
from model.arrays import load_array
from model.bundle import Bundle
from model.cache import FeatureCache

SPACES = ("audio", "similar")  # φ_a for text → audio, z_a for audio → audio
__all__ = ["Corpus", "IndexOptions", "Report", "build_version", "update_version"]


@dataclass
class IndexOptions:
    factory: str = vector_index.AUTO
    shard_size: int = 1024
    nprobe: int = 16
    ef_search: int = 64
    ray_address: str | None = None  # embed on this Ray cluster ("auto", "HOST:PORT"); None: here


@dataclass
class Rows:
    ids: np.ndarray  # (N,) int64 sound ids, ascending
    hashes: list[str]
    seconds: float  # total audio duration
    undecodable: list[tuple[str, str]] = field(default_factory=list)  # (uid, reason): left out

    def summary(self, examples: int = 20) -> dict:
        """What a job result and an index manifest say of the sounds left out."""
        return {
            "undecodable": len(self.undecodable),
            "undecodable_examples": [f"{uid}: {why}" for uid, why in self.undecodable[:examples]],
        }


# --- read --------------------------------------------------------------------------------------
def read_live(corpus: Corpus, report: Report = _quiet) -> Rows:
    """Live sounds with features, decoding those the cache lacks first; the ones that do not decode
    are left out and listed (`Rows.undecodable`), never dropped silently."""
    files = live_sound_files(corpus.catalogue)
    _, failed = fill_cache(files, corpus.cache, corpus.limits, corpus.workers, progress=False)
    rows = [r for r in files if r.content_hash in corpus.cache]
    left_out = f", {len(failed)} left out: they do not decode" if failed else ""
    report(0.02, f"{len(rows)} sounds to index{left_out}")
    return Rows(
        np.array([r.id for r in rows], np.int64),
        [r.content_hash for r in rows],
        float(sum(r.duration for r in rows)),
        failed,
    )


# --- embed and write ---------------------------------------------------------------------------
def embed_rows(bundle: Bundle, cache: FeatureCache, hashes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Content hashes → L2-normalised z_a (n, V) and φ_a (n, F)."""
    return bundle.embed_logmels([cache.get(h) for h in hashes])


def build_key(bundle: Bundle, options: IndexOptions, rows: Rows | Plan) -> str:
    h = hashlib.sha1(f"{bundle.version}|{options.shard_size}".encode())
    h.update(rows.ids.tobytes())
    h.update("".join(rows.hashes).encode())
    return h.hexdigest()[:12]


def embed_shards(
    bundle: Bundle, corpus: Corpus, plan: Plan, work: Path, shard_size: int, report: Report
) -> tuple[list[Path], int]:
    """Write every shard not there yet (`shard_layout`, `write_shard`); shards already there are
    kept. (paths, reused).

    Decoding overlaps embedding: worker processes decode the clips the feature cache lacks, ahead of
    the shard being embedded here (model.analysis.analyse_many keeps a bounded number in flight), and
    each shard's features are flushed to the cache before its vectors are written."""
    work.mkdir(parents=True, exist_ok=True)
    layout = shard_layout(plan, work, shard_size)
    pending = [i for path, span in layout if not path.exists() for i in span]
    hashes, paths = [plan.hashes[i] for i in pending], [plan.paths[i] for i in pending]
    decoded = decode_missing(hashes, paths, corpus.cache, corpus.limits, corpus.cache.config, corpus.workers)
    why: dict[str, str] = {}  # content hash → the reason it was left out
    reused = 0
    for k, (path, span) in enumerate(layout):
        if path.exists():
            reused += 1
            continue
        for i in span:  # take the decoded clips up to this shard's last (they come in plan order)
            while plan.hashes[i] not in corpus.cache and plan.hashes[i] not in why:
                d = next(decoded)
                if d.reason:
                    why[d.content_hash] = d.reason
                else:
                    corpus.cache.add(d.content_hash, d.logmel)
        left_out = [(plan.uids[i], why[plan.hashes[i]]) for i in span if plan.hashes[i] in why]
        corpus.cache.flush()
        keep = [i for i in span if plan.hashes[i] in corpus.cache]
        z, phi = embed_rows(bundle, corpus.cache, [plan.hashes[i] for i in keep])
        write_shard(path, plan.ids[keep], z, phi, left_out)
        report(0.05 + 0.85 * (k + 1) / len(layout), f"decoded and embedded shard {k + 1}/{len(layout)}")
    return [path for path, _ in layout], reused


# --- build --------------------------------------------------------------------------------------
def tag_contexts(
    bundle: Bundle,
    catalogue: Catalogue,
    phi_a: dict[str, np.ndarray] | None = None,
    before: TagContexts | None = None,
) -> TagContexts:
    """The contexts of the live sounds' tag sets (their known vocabulary words), each with the mean
    φ_a of its sounds: `phi_a` by content hash, the rest from `before` (index/contexts.py)."""
    phi_a = phi_a or {}
    sets, vectors = [], []
    for _, content_hash, words in live_sounds_with_words(catalogue):
        if tags := bundle.vocabulary.select(words):
            sets.append(bundle.split_known(tags)[0])
            vectors.append(phi_a.get(content_hash))
    return TagContexts.of(bundle, sets, vectors, before)


def vectors_by_hash(
    hashes: list[str], ids: np.ndarray, embedded_ids: np.ndarray, vectors: np.ndarray
) -> dict[str, np.ndarray]:
    """{content hash: its vector} of the sounds (ids (N,), their hashes) among those embedded
    (`embedded_ids` (M,), `vectors` (M, F))."""
    row = {int(i): r for r, i in enumerate(embedded_ids.tolist())}
    return {h: vectors[row[i]] for i, h in zip(ids.tolist(), hashes, strict=True) if i in row}


def _manifest(bundle: Bundle, factories: dict[str, str], sounds: int, tags: int, **extra) -> dict:
    return {
        "bundle_version": bundle.version,
        "variant": bundle.manifest.get("variant"),
        "factory": factories,
        "counts": {"sounds": sounds, "tags": tags},
        "dims": {"phi_a": bundle.config.word_dim, "z_a": bundle.config.latent_dim},
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """An exclusive lock on a file (flock), held for the block; waits while another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build_version(
    bundle: Bundle,
    corpus: Corpus,
    root: Path,
    options: IndexOptions = IndexOptions(),
    report: Report = _quiet,
) -> tuple[str, dict]:
    """Embed every live sound and write a complete index version (not published). (version, timings)."""
    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    plan = live_plan(corpus.catalogue)
    report(0.02, f"{len(plan.ids)} sounds to index")
    t_read = time.perf_counter()
    key = build_key(bundle, options, plan)
    with _exclusive(root / ".locks" / f"build-{key}"):  # an identical build running elsewhere finishes first
        work = root / f".build-{key}"
        if options.ray_address:
            from index.ray_build import embed_shards_on_ray

            shards, reused = embed_shards_on_ray(
                bundle, corpus, plan, work, options.shard_size, report, options.ray_address
            )
        else:
            shards, reused = embed_shards(bundle, corpus, plan, work, options.shard_size, report)
        t_embed = time.perf_counter()
        ids, z, phi, left_out = load_shards(shards)
        seconds = float(plan.durations[np.isin(plan.ids, ids)].sum())
        rows = Rows(ids, [], seconds, left_out)
        contexts = tag_contexts(bundle, corpus.catalogue, vectors_by_hash(plan.hashes, plan.ids, ids, phi))
        phi_w = contexts.centre
        if phi_w is None:
            phi_w = np.zeros(bundle.config.word_dim, np.float32)
        centres = Centres(phi.mean(axis=0), phi_w, z.mean(axis=0))
        version = versions.new_version_id()
        with versions.staging(root, version) as staging:
            factories = {
                space: vector_index.resolve_factory(options.factory, len(ids), space) for space in SPACES
            }
            report(0.92, f"building indices of {len(ids)} sounds: {factories}")
            scorer = Scorer(bundle, centres, contexts)
            phi_s, z_c = scorer.searchable(phi), centred(z, centres.z_a)
            similar = vector_index.build(z_c, ids, factories["similar"])
            vector_index.write(vector_index.build(phi_s, ids, factories["audio"]), staging / versions.AUDIO)
            vector_index.write(similar, staging / versions.SIMILAR)
            n_tags = len(scorer.tag_words)  # the tags it can suggest
            centres.save(staging)
            contexts.save(staging)
            meta = live_metadata(corpus.catalogue, ids.tolist())
            report(0.95, "the sounds' neighbours' tags")
            votes = tag_votes.index_votes(
                similar, ids, z_c, meta, scorer.tag_words, tag_votes.searched_covariance(phi_s)
            )
            votes.save(staging)
            words = text_index.text_rows(meta.values())
            text_index.write(staging, words)
            report(0.97, "fitting relevance on the catalogue's tags")
            with closing(TextIndex(staging)) as text:
                seen = relevance.observe(
                    scorer, phi_s, z_c, ids, meta, text, votes=tag_votes.VoteSearch(votes)
                )
                relevance.fit(seen).save(staging)
            np.save(staging / versions.IDS, ids)
        t_build = time.perf_counter()
        timings = {
            "read_s": round(t_read - t0, 3),
            "embed_s": round(t_embed - t_read, 3),
            "build_s": round(t_build - t_embed, 3),
            "shards": len(shards),
            "shards_reused": reused,
            "embedded_on": f"ray {options.ray_address}" if options.ray_address else "here",
            "audio_seconds": round(rows.seconds, 1),
            **rows.summary(),
        }
        versions.commit_version(
            root,
            staging,
            version,
            _manifest(
                bundle,
                factories,
                len(ids),
                n_tags,
                timings=timings,
                words=text_index.words_fingerprint(words),
                hubness=hubness.MANIFEST,
                votes=tag_votes.MANIFEST,
            ),
        )
        shutil.rmtree(work, ignore_errors=True)
        return version, timings


def update_version(
    bundle: Bundle,
    corpus: Corpus,
    root: Path,
    options: IndexOptions = IndexOptions(),
    report: Report = _quiet,
) -> tuple[str | None, dict]:
    """A new version from the served one plus new sounds, minus deleted ones; (None, …) when up to date."""
    served = versions.current_dir(root)
    manifest = versions.read_manifest(served)
    versions.check_bundle(manifest, bundle)
    rows = read_live(corpus, report)
    indexed = load_array(served / versions.IDS)
    new = ~np.isin(rows.ids, indexed)
    gone = indexed[~np.isin(indexed, rows.ids)]
    summary = {
        "added": int(new.sum()),
        "removed": int(len(gone)),
        "parent": manifest["version"],
        **rows.summary(),
    }
    ids = np.sort(np.concatenate([indexed[np.isin(indexed, rows.ids)], rows.ids[new]]))
    words = text_index.text_rows(live_metadata(corpus.catalogue, ids.tolist()).values())
    fingerprint = text_index.words_fingerprint(words)
    summary["words_changed"] = fingerprint != manifest.get("words")
    if not new.any() and not len(gone) and not summary["words_changed"]:
        return None, summary
    added = [h for h, is_new in zip(rows.hashes, new, strict=True) if is_new]
    z, phi = embed_rows(bundle, corpus.cache, added)
    report(0.8, f"adding {summary['added']} sounds, removing {summary['removed']}")
    centres = Centres.load(served, bundle.config.word_dim, bundle.config.latent_dim)
    before = TagContexts.load(served, bundle.config.word_dim)
    contexts = tag_contexts(bundle, corpus.catalogue, dict(zip(added, phi, strict=True)), before)
    z = centred(z, centres.z_a)
    if "hubness" in manifest:  # the new sounds' offsets against the catalogue's tag sets of now
        phi = Scorer(bundle, centres, contexts).searchable(phi)
    else:
        phi = centred(phi, centres.phi_a)
    before_votes = tag_votes.TagVotes.load(served)
    version = versions.new_version_id()
    with versions.staging(root, version) as staging:
        updated = {}
        for name, vectors in ((versions.AUDIO, phi), (versions.SIMILAR, z)):
            index = updated[name] = vector_index.read(served / name)
            vector_index.remove(index, gone)  # HNSW cannot remove: searches filter deleted sounds anyway
            vector_index.add(index, vectors, rows.ids[new])
            vector_index.write(index, staging / name)
        if before_votes is not None:  # every sound's votes again: new tagged sounds vote for old ones
            similar = updated[versions.SIMILAR]
            meta = live_metadata(corpus.catalogue, ids.tolist())
            stored = vector_index.stored_vectors(similar, ids)  # z_a as the index now holds them
            tags = Scorer(bundle, centres, contexts).tag_words
            votes = tag_votes.index_votes(similar, ids, stored, meta, tags, before_votes.covariance)
            votes.save(staging)
        centres.save(staging)
        contexts.save(staging)  # the tags of the sounds now live
        text_index.write(staging, words)
        relevance.Relevance.load(served).save(staging)  # the same model: the parent's curves
        np.save(staging / versions.IDS, ids)
    counts = manifest["counts"]
    versions.commit_version(
        root,
        staging,
        version,
        _manifest(
            bundle,
            manifest["factory"],
            len(ids),
            counts["tags"],
            update=summary,
            words=fingerprint,
            **{key: manifest[key] for key in ("hubness", "votes") if key in manifest},
        ),
    )
    return version, summary
