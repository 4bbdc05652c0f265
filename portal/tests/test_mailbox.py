"""The development mailbox: the e-mails the mail catcher kept, listed and shown, only with
CVMS_DEVELOPMENT=1, and nothing outside its folder."""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import pytest

from portal.app import create_app
from portal.settings import Settings

NAME = "20300301T120000-0123abcd.eml"


def app_client(tmp_path, *, development: bool):
    settings = Settings(
        gateway_url="http://127.0.0.1:9",
        redis_url="redis://127.0.0.1:6379/0",
        secret_key="test",
        redis_prefix=f"cvms-test-{uuid.uuid4().hex[:8]}:portal",
        development=development,
    )
    return create_app(settings, data_dir=tmp_path).test_client()


@pytest.fixture
def mail_dir(tmp_path, monkeypatch):
    folder = tmp_path / "mail"
    folder.mkdir()
    mail = EmailMessage()
    mail["From"] = "CVMS <no-reply@cvms.example>"
    mail["To"] = "ana@example.org"
    mail["Subject"] = "Su cita de vacunación: lunes"
    mail["Date"] = "Fri, 01 Mar 2030 12:00:00 -0000"
    mail.set_content("Hola Ana:\n\nCódigo de confirmación: K7Q2M9XW3P\n")
    mail.add_alternative("<p>Hola Ana</p>", subtype="html")
    (folder / NAME).write_bytes(bytes(mail))
    monkeypatch.setenv("CVMS_MAIL_DIR", str(folder))
    return folder


def test_without_the_development_flag_there_is_no_mailbox(tmp_path, mail_dir):
    client = app_client(tmp_path, development=False)
    assert client.get("/mailbox").status_code == 404
    assert client.get(f"/mailbox/{NAME}").status_code == 404
    assert "/mailbox" not in client.get("/").get_data(as_text=True)


def test_the_mailbox_lists_and_shows_what_was_sent(tmp_path, mail_dir):
    client = app_client(tmp_path, development=True)
    assert 'href="/mailbox"' in client.get("/").get_data(as_text=True)
    inbox = client.get("/mailbox").get_data(as_text=True)
    assert "ana@example.org" in inbox and "Su cita de vacunación: lunes" in inbox
    shown = client.get(f"/mailbox/{NAME}")
    assert shown.status_code == 200
    assert "K7Q2M9XW3P" in shown.get_data(as_text=True)
    raw = client.get(f"/mailbox/{NAME}/raw")
    assert raw.mimetype == "message/rfc822" and b"<p>Hola Ana</p>" in raw.data


@pytest.mark.parametrize("name", ["../secret.eml", "x.eml", "20300301T120000-0123abcd.txt"])
def test_nothing_outside_the_mail_folder_is_shown(tmp_path, mail_dir, name):
    (mail_dir.parent / "secret.eml").write_text("Subject: secret\n\nno")
    client = app_client(tmp_path, development=True)
    assert client.get(f"/mailbox/{name}").status_code == 404
