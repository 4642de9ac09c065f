"""The database never holds a message in clear: dump it (the SQLite file byte for byte, and a
PostgreSQL database with pg_dump) and look for the plaintext of the test messages."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa

from tests.chat.conftest import client_id
from tests.live import ROOT


def test_sqlite_file_holds_no_plaintext(app, client, login, circle, conversation, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("this run uses PostgreSQL; the pg_dump test below covers it")
    secret = f"Glycemie {secrets.token_hex(6)} a jeun"
    login(client, circle.nurse)
    response = client.post(
        f"/chat/{conversation}/messages", data={"body": secret, "client_id": client_id()}
    )
    assert response.status_code == 302
    assert client.post("/chat/quick-replies", data={"text": "Quick " + secret}).status_code == 302
    from webapp.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # everything on disk, no connection holding pages
    path = database_url.removeprefix("sqlite:///")
    raw = open(path, "rb").read()
    for suffix in ("-wal", "-journal"):
        if os.path.exists(path + suffix):
            raw += open(path + suffix, "rb").read()
    assert circle.nurse.email.encode() in raw  # the dump does read the data
    assert secret.encode() not in raw
    assert secret.split()[1].encode() not in raw
    assert b"Dressing change" not in raw  # subjects are sealed too


@pytest.mark.postgres
def test_pg_dump_holds_no_plaintext(tmp_path):
    assert shutil.which("pg_dump"), "PostgreSQL client tools are required"
    name = f"hs_chat_at_rest_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
        "HEALTHSPACE_INSTANCE": str(tmp_path),
        "HEALTHSPACE_ENV": "test",
    }
    env.pop("REDIS_URL", None)
    try:

        def run(*args):
            result = subprocess.run(
                [sys.executable, "-m", "tests.chat.live_setup", *args],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, result.stderr[-2000:]
            return result.stdout

        import json

        data = json.loads(run("circle").strip().splitlines()[-1])
        secret = f"Tension {secrets.token_hex(6)} elevee"
        run("post", str(data["conversation"]), str(data["nurse"]["id"]), secret)
        run("post", str(data["conversation"]), str(data["relative"]["id"]), "Merci " + secret)
        dump = subprocess.run(
            ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--data-only", name],
            capture_output=True,
            timeout=120,
            check=True,
        ).stdout
        assert data["nurse"]["email"].encode() in dump
        # bytea columns are dumped in hex: look for the plaintext both ways.
        assert secret.split()[1].encode() not in dump
        assert secret.split()[1].encode().hex().encode() not in dump.lower()
        assert b"Live test" not in dump
        messages = json.loads(run("messages", str(data["conversation"])).strip().splitlines()[-1])
        assert [m[2] for m in messages] == [secret, "Merci " + secret]
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
