"""Files attached when a case is filed: stored with the case, or the case is not filed at all;
their size, type and first bytes checked; downloaded only by the case's requester and agents."""

import base64

import pytest

from cvms_platform.answers.helpdesk import MAX_ATTACHMENT_BYTES
from cvms_platform.errors import InvalidInput, NotFound
from helpdesk.models import Attachment, Case, CaseEntry

from .conftest import ANA, BEN, form

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"


def attached(content: bytes, content_type="application/pdf", filename="logger report.pdf"):
    return {
        "filename": filename,
        "content_type": content_type,
        "content_base64": base64.b64encode(content).decode(),
    }


def test_a_case_is_filed_with_its_files(service, read):
    case = service.file_case(
        ANA, form(attachments=[attached(PDF), attached(b"12 C at 10:40", "text/plain", "a.txt")])
    )
    assert [(a["filename"], a["size"]) for a in case["attachments"]] == [
        ("logger report.pdf", len(PDF)),
        ("a.txt", 13),
    ]
    first = case["attachments"][0]["id"]
    assert base64.b64decode(service.my_attachment(ANA, case["id"], first)["content_base64"]) == PDF
    assert service.attachment(case["id"], first)["content_type"] == "application/pdf"
    assert service.case(case["id"])["attachments"] == case["attachments"]
    with pytest.raises(NotFound):
        service.my_attachment(BEN, case["id"], first)
    other = service.file_case(BEN, form())
    with pytest.raises(NotFound):
        service.attachment(other["id"], first)  # not that case's file
    assert read.count(Attachment) == 2


@pytest.mark.parametrize(
    ("file", "problem"),
    [
        (attached(b"x" * (MAX_ATTACHMENT_BYTES + 1), "text/plain"), "bytes a file"),
        (attached(b"MZ\x90\x00 not a pdf"), "not a application/pdf"),
        (attached(b"\xff\xfe\x00 binary", "text/plain"), "UTF-8"),
        ({**attached(PDF), "content_base64": "not base64!"}, "base64"),
    ],
)
def test_a_wrong_file_files_nothing(service, read, file, problem):
    with pytest.raises(InvalidInput) as refused:
        service.file_case(ANA, form(attachments=[attached(PDF), file]))
    assert problem in str(refused.value.errors["attachments.1"])
    assert read.count(Case) == read.count(CaseEntry) == read.count(Attachment) == 0
    assert read.events() == []


def test_too_many_files_or_a_type_not_allowed(service, read):
    with pytest.raises(InvalidInput) as refused:
        service.file_case(ANA, form(attachments=[attached(PDF)] * 4))
    assert "attachments" in refused.value.errors
    with pytest.raises(InvalidInput) as refused:
        service.file_case(ANA, form(attachments=[attached(PDF, "application/zip")]))
    assert "attachments" in refused.value.errors
    with pytest.raises(InvalidInput) as refused:
        service.file_case(ANA, form(attachments=[attached(b"")]))
    assert "attachments" in refused.value.errors
    assert read.count(Case) == 0
