"""The README's two commands, exactly as written, as a newcomer runs them: from a clean clone, with a
home and a data dir of their own.

The first command (venv, install, `audiotag demo`) runs here for real: the built-in corpus is
downloaded from Debian (about 210 MB), the shipped model indexes it and the service answers a search,
an upload to /tags and /classify and the page; a second run rebuilds nothing. The second command
(the test suite) is what `.ci/run` runs, read from the README by the same code.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import soundfile as sf

from tests.browser import CHROMEDRIVER, CHROMIUM, chromium, search_on_page
from tests.conftest import table_value, tone
from tests.readme_commands import HEADINGS, ReadmeError, readme_commands

ROOT = Path(__file__).resolve().parent.parent
SERVING = re.compile(r"audiotag is at (http://\S+?)/? ")
FIRST_RUN_S, AGAIN_S = 45 * 60, 10 * 60  # bounds on a stuck run, not speed goals


def test_readme_has_both_commands_and_ci_runs_the_test_one(tmp_path: Path) -> None:
    commands = readme_commands()
    assert "audiotag demo" in commands["run"] and "pytest" in commands["test"]
    assert "tests/readme_commands.py test" in (ROOT / ".ci/run").read_text()
    (tmp_path / "README.md").write_text(f"{HEADINGS['run']}\n\n```sh\nmake all\nmake more\n```\n")
    with pytest.raises(ReadmeError):
        readme_commands(tmp_path / "README.md")


def newcomer_env(home: Path, data: Path) -> dict[str, str]:
    """This environment with a fresh HOME and data dir; pip keeps its cache and its configuration
    (a mirror is the user's setting), and pyenv's shims their root."""
    real_home = Path.home()
    env = {**os.environ, "HOME": str(home), "AUDIOTAG_DATA_DIR": str(data), "COLUMNS": "200"}
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(Path(sys.prefix)))
    )
    env.setdefault("PIP_CACHE_DIR", str(real_home / ".cache" / "pip"))
    for config in (real_home / ".config/pip/pip.conf", real_home / ".pip/pip.conf"):
        if config.is_file():
            env.setdefault("PIP_CONFIG_FILE", str(config))
            break
    if (real_home / ".pyenv").is_dir():
        env.setdefault("PYENV_ROOT", str(real_home / ".pyenv"))
    return env


@contextmanager
def first_command(clone: Path, env: dict[str, str], log: Path, timeout: float) -> Iterator[str]:
    """Run the README's first command in `clone` until it prints where it serves; yield that URL,
    then stop the service as a user would (Ctrl-C) and check it ends cleanly."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["bash", "-c", readme_commands(clone / "README.md")["run"]],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches the server's workers
        )
        try:
            base = _wait_for_url(proc, log, timeout)
            _wait_ready(base, proc, log)
            yield base
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    text = log.read_text()
    assert "Traceback" not in text, text[-4000:]


def _wait_for_url(proc: subprocess.Popen, log: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = SERVING.search(log.read_text(errors="replace"))
        if found:
            return found.group(1)
        if proc.poll() is not None:
            pytest.fail(f"the README's first command ended ({proc.returncode}) before serving:\n"
                        + log.read_text()[-6000:])  # fmt: skip
        time.sleep(1)
    pytest.fail("the README's first command did not serve in time:\n" + log.read_text()[-6000:])


def _wait_ready(base: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-6000:]
        try:
            if httpx.get(f"{base}/api/v1/ready", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail("the service never became ready:\n" + log.read_text()[-6000:])


def _clip() -> bytes:
    buf = io.BytesIO()
    sf.write(buf, tone(440.0, 2.0, sr=44100), 44100, format="WAV")
    return buf.getvalue()


def use_the_service(base: str, screenshot: Path) -> str:
    """What a newcomer tries first; returns the served index version."""
    with httpx.Client(base_url=f"{base}/api/v1", timeout=60) as c:
        ready = c.get("/ready").json()
        found = c.get("/search", params={"q": "door bell", "k": 10})
        assert found.status_code == 200 and len(found.json()["results"]) == 10, found.text
        assert c.get(found.json()["results"][0]["audio_url"].removeprefix("/api/v1")).status_code == 200
        tags = c.post("/tags", files={"file": ("beep.wav", _clip(), "audio/wav")})
        assert tags.status_code == 200 and tags.json()["tags"], tags.text
        labels = {"labels": "bell, dog, engine"}
        scores = c.post("/classify", files={"file": ("beep.wav", _clip(), "audio/wav")}, data=labels)
        assert scores.status_code == 200 and len(scores.json()["labels"]) == 3, scores.text
    page = httpx.get(base, timeout=30)
    assert page.status_code == 200 and "<title>audiotag</title>" in page.text
    if CHROMEDRIVER and CHROMIUM:
        with chromium() as driver:
            search_on_page(driver, base, "door bell", timeout=60)
            driver.save_screenshot(str(screenshot))
    return ready["index_version"]


@pytest.mark.slow
def test_readme_first_command_from_a_clean_clone(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and this repository's history to clone it")
    clone, home, data = tmp_path / "audiotag", tmp_path / "home", tmp_path / "data"
    home.mkdir()
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = newcomer_env(home, data)
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    try:
        start = time.monotonic()
        with first_command(clone, env, tmp_path / "first.log", FIRST_RUN_S) as base:
            served = time.monotonic() - start
            version = use_the_service(base, artifacts / "readme-demo-page.png")
        first = (tmp_path / "first.log").read_text()
        assert table_value(first, "added") != "0", first[-4000:]

        start = time.monotonic()
        with first_command(clone, env, tmp_path / "again.log", AGAIN_S) as base:
            served_again = time.monotonic() - start
            assert use_the_service(base, artifacts / "readme-demo-page-again.png") == version
        again = (tmp_path / "again.log").read_text()
        assert table_value(again, "added") == "0" and table_value(again, "updated") == "0", again[-4000:]
        assert "the index is up to date" in again and "training" not in again, again[-4000:]
        (artifacts / "readme-timing.txt").write_text(
            f"first run to serving: {served:.0f} s\nsecond run to serving: {served_again:.0f} s\n"
        )
        print(f"README first command: {served:.0f} s to serving; again: {served_again:.0f} s")
    finally:
        shutil.rmtree(clone / ".venv", ignore_errors=True)  # gigabytes (torch with CUDA)
