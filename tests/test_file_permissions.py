"""Keloa's files are its user's only: the instance directory, the SQLite database, media."""
from __future__ import annotations

import importlib.util
import stat

from tests import helpers


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _run_script():
    spec = importlib.util.spec_from_file_location("keloa_run_script", helpers.ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_run_makes_an_existing_world_readable_set_up_private(tmp_path):
    instance = tmp_path / "instance"
    (instance / "media" / "attachments").mkdir(parents=True)
    instance.chmod(0o755)
    (instance / "media").chmod(0o755)
    for name in ("keloa.db", "keloa.db-wal", "keloa.db-shm"):
        (instance / name).write_bytes(b"")
        (instance / name).chmod(0o644)
    _run_script().make_private(instance, {})
    assert _mode(instance) == 0o700 and _mode(instance / "media") == 0o700
    assert all(_mode(instance / name) == 0o600 for name in ("keloa.db", "keloa.db-wal", "keloa.db-shm"))


def test_make_run_follows_media_dir_and_database_url(tmp_path):
    instance, media, db = tmp_path / "instance", tmp_path / "elsewhere" / "media", tmp_path / "data" / "k.db"
    db.parent.mkdir()
    db.write_bytes(b"")
    db.chmod(0o664)
    _run_script().make_private(instance, {"MEDIA_DIR": str(media), "DATABASE_URL": f"sqlite:///{db}"})
    assert _mode(instance) == 0o700 and _mode(media) == 0o700 and _mode(db) == 0o600


def test_saved_media_is_readable_by_keloa_only(app):
    from keloa_web.media import storage

    relative = storage.save(b"\xff\xd8 a customer's photo", "image/jpeg", folder="attachments")
    path = storage.resolve(relative)
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
