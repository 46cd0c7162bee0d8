"""The deployment files agree with the app and the README (they cannot run here: no Docker engine)."""

from __future__ import annotations

import re
from pathlib import Path

from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _compose_services() -> list[str]:
    text = (ROOT / "docker-compose.yml").read_text()
    block = text.split("\nservices:\n", 1)[1].split("\nvolumes:\n", 1)[0]
    return re.findall(r"^  ([a-z][\w-]*):\s*$", block, re.M)


def test_readme_names_every_service_and_profile() -> None:
    readme = (ROOT / "README.md").read_text()
    deployment = readme.split("## Deployment", 1)[1].split("\n## ", 1)[0]
    services = _compose_services()
    assert services == ["db", "api", "worker", "init", "api-gpu", "worker-gpu"]
    for name in services:
        assert f"`{name}`" in deployment or f" {name} " in deployment or f" {name}\n" in deployment, name
    for profile in ("--profile gpu", "profile init"):
        assert profile in deployment


def test_environment_names_are_the_apps_settings() -> None:
    names = set(re.findall(r"\bAUDIOTAG_([A-Z_]+)\b", (ROOT / "docker-compose.yml").read_text()))
    names |= set(re.findall(r"^AUDIOTAG_([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    fields = {f.upper() for f in Settings.model_fields}
    assert names and names <= fields, names - fields
