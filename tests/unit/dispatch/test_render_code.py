"""What a stored e-mail render was made with (``channels/render_code.py``): the key of a
render changes with the rendering libraries' versions and with every file the render
reads, not only the renderers' code, so a deploy that changes any of them never sends
an old render."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.dispatch.channels import mail, render_code
from services.dispatch.channels.render_code import digest, library_versions, source_files
from services.dispatch.config import Settings

REPO = Path(__file__).resolve().parents[3]
VERSIONS = {"reportlab": "4.4.0", "pypdf": "5.0.0", "pycountry": "24.6.1", "python": "3.11.7"}


def test_a_library_version_changes_the_digest(tmp_path: Path) -> None:
    asset = tmp_path / "texts.py"
    asset.write_text("T = {'fi': 'Lasku'}\n")
    before = digest(VERSIONS, [asset], tmp_path)
    assert digest(dict(VERSIONS), [asset], tmp_path) == before  # the same inputs: the same key
    assert digest({**VERSIONS, "reportlab": "4.4.1"}, [asset], tmp_path) != before
    assert digest({**VERSIONS, "pypdf": "5.0.1"}, [asset], tmp_path) != before


def test_the_content_of_any_file_the_render_reads_changes_the_digest(tmp_path: Path) -> None:
    font = tmp_path / "assets" / "logo.png"
    font.parent.mkdir()
    font.write_bytes(b"\x89PNG one")
    helper = tmp_path / "money.py"
    helper.write_text("NBSP = '\\u00a0'\n")
    before = digest(VERSIONS, [font, helper], tmp_path)
    font.write_bytes(b"\x89PNG two")
    assert digest(VERSIONS, [font, helper], tmp_path) != before
    font.write_bytes(b"\x89PNG one")
    assert digest(VERSIONS, [font, helper], tmp_path) == before
    helper.write_text("NBSP = ' '\n")
    assert digest(VERSIONS, [font, helper], tmp_path) != before


def test_the_digest_covers_the_formats_the_channel_the_renderers_and_the_shared_helpers() -> None:
    files = {str(p.relative_to(REPO)) for p in source_files()}
    expected = {
        "services/dispatch/formats.py",
        "services/dispatch/channels/mail.py",
        "services/dispatch/render/pdf.py",
        "services/dispatch/render/mail.py",
        "services/dispatch/render/texts.py",
        "services/dispatch/render/glyphs.py",
        "services/dispatch/domain/documents.py",
        "shared/money.py",
        "shared/references.py",
        "shared/events/invoicing.py",
    }
    assert expected <= files
    assert {"reportlab", "pypdf", "python"} <= set(library_versions())


def test_the_render_key_follows_the_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(database_url="postgresql+asyncpg://u:p@127.0.0.1:9/x", kafka_bootstrap_servers="127.0.0.1:9")
    channel = mail.EmailChannel(settings)
    monkeypatch.setattr(mail, "renderer_code", lambda: digest(VERSIONS, []))
    before = channel.render_key(None)
    monkeypatch.setattr(mail, "renderer_code", lambda: digest({**VERSIONS, "reportlab": "4.5.0"}, []))
    assert channel.render_key(None) != before  # a stored render made before the upgrade is made again
    assert render_code.renderer_code() == render_code.renderer_code()  # once per process
