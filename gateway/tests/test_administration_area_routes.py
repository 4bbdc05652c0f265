"""The administration area's own routes (services faked by the RPC pool): corrections and voids
by the dose's location, HL7 exports, paper forms, and CSV imports split into chunks."""

import base64
import csv
import io
import uuid

from cvms_platform.errors import NotFound

DOSE_ID = str(uuid.uuid4())
RECORDED = {"id": DOSE_ID, "location_id": "demo-clinic", "history": []}


def test_a_manager_corrects_a_dose_of_their_location(app, client, rpc, login):
    rpc.answer("administration.get_administration", RECORDED)
    rpc.answer(
        "administration.correct_administration",
        {"administration": {**RECORDED, "site": "RD"}, "created": True},
    )
    body = {"site": "RD", "reason": "Misread the chart."}

    response = client.post(
        f"/api/v1/administrations/{DOSE_ID}/corrections", json=body, headers=login("clinic.manager")
    )

    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"] == f"/api/v1/administrations/{DOSE_ID}"
    manager = app.extensions["test_identity"].user_by_name("clinic.manager")
    assert rpc.calls[1] == (
        "administration.correct_administration",
        (DOSE_ID, body, "clinic.manager", manager.id, True),  # managers may override checks
    )


def test_a_dose_of_another_location_is_403_and_nothing_changes(client, rpc, login):
    rpc.answer("administration.get_administration", {**RECORDED, "location_id": "elsewhere"})
    response = client.post(
        f"/api/v1/administrations/{DOSE_ID}/void",
        json={"reason": "Wrong person."},
        headers=login("clinic.manager"),
    )
    assert response.status_code == 403
    assert [name for name, _ in rpc.calls] == ["administration.get_administration"]


def test_a_repeated_void_is_200_and_a_vaccinator_may_not_void(client, rpc, login):
    rpc.answer("administration.get_administration", RECORDED)
    rpc.answer(
        "administration.void_administration",
        {"administration": {**RECORDED, "status": "voided"}, "created": False},
    )
    body = {"id": str(uuid.uuid4()), "reason": "Entered twice."}
    path = f"/api/v1/administrations/{DOSE_ID}/void"
    assert client.post(path, json=body, headers=login("state.admin")).status_code == 200
    assert client.post(path, json=body, headers=login("clinic.vaccinator")).status_code == 403


def test_a_correction_without_a_reason_or_a_field_is_400(client, rpc, login):
    headers = login("clinic.manager")
    path = f"/api/v1/administrations/{DOSE_ID}/corrections"
    no_reason = client.post(path, json={"site": "RD"}, headers=headers)
    nothing = client.post(path, json={"reason": "Because."}, headers=headers)
    unknown_site = client.post(path, json={"site": "NOSE", "reason": "x"}, headers=headers)
    assert list(no_reason.get_json()["fields"]) == ["reason"]
    assert list(nothing.get_json()["fields"]) == ["_schema"]
    assert list(unknown_site.get_json()["fields"]) == ["site"]
    assert rpc.calls == []


def test_an_unknown_dose_is_404(client, rpc, login):
    rpc.answer("administration.get_administration", NotFound("administration x not found"))
    response = client.post(
        f"/api/v1/administrations/{DOSE_ID}/void",
        json={"reason": "Wrong person."},
        headers=login("state.admin"),
    )
    assert response.status_code == 404


def test_hl7_exports_are_served_as_er7(client, rpc, login):
    rpc.answer("administration.recipient_hl7", "MSH|^~\\&|CVMS\r")
    rpc.answer("administration.location_hl7_batch", "FHS|^~\\&|CVMS\r")
    one = client.get("/api/v1/recipients/r-1/hl7", headers=login("clinic.vaccinator"))
    batch = client.get(
        "/api/v1/locations/demo-clinic/administrations/hl7?from=2026-01-01&to=2026-01-31",
        headers=login("clinic.manager"),
    )
    assert one.headers["Content-Type"].startswith("x-application/hl7-v2+er7")
    assert one.get_data(as_text=True).startswith("MSH|")
    assert batch.status_code == 200
    assert rpc.calls[-1] == (
        "administration.location_hl7_batch",
        ("demo-clinic", "2026-01-01", "2026-01-31"),
    )
    too_long = client.get(
        "/api/v1/locations/demo-clinic/administrations/hl7?from=2024-01-01&to=2026-01-31",
        headers=login("clinic.manager"),
    )
    assert list(too_long.get_json()["fields"]) == ["to"]


def test_the_forms_and_the_template(client, rpc, login):
    def rendered_form() -> dict:  # as administration's paper_form(kind, language) answers
        _, (kind, language) = rpc.calls[-1]
        content = base64.b64encode(f"%PDF-1.3 {kind} {language}".encode()).decode()
        return {
            "filename": f"{kind}-{language}.pdf",
            "content_type": "application/pdf",
            "base64": content,
        }

    rpc.answer("administration.paper_form", rendered_form)
    headers = login("clinic.vaccinator")
    for form in ("recipient-registration", "vaccine-administration"):
        for language in ("en", "es"):
            response = client.get(f"/api/v1/forms/{form}.pdf?lang={language}", headers=headers)
            assert response.status_code == 200
            assert response.data.startswith(b"%PDF")
            assert rpc.calls[-1] == ("administration.paper_form", (form, language))
            assert response.headers["Content-Disposition"] == (
                f'inline; filename="{form}-{language}.pdf"'
            )
    assert (
        client.get("/api/v1/forms/recipient-registration.pdf?lang=fr", headers=headers).status_code
        == 400
    )
    template = client.get("/api/v1/forms/administration-import.csv", headers=headers)
    assert template.get_data(as_text=True).startswith("record_id,given_name,family_name,")


def csv_body(rows: int, *, extra: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["record_id", "given_name", "family_name", "birth_date", "administered_at", "lot_number"]
    )
    for n in range(rows):
        writer.writerow([f"R-{n}", "Ana", "Garcia", "1960-02-01", "2026-01-10", "FK5127"])
    if extra:
        writer.writerow(extra)
    writer.writerow([])  # a blank line at the end
    return out.getvalue().encode()


def chunk_answer(rpc):
    """An answer built from the call's own rows (the fake pool's answers take no arguments)."""
    return lambda: _answer(*rpc.calls[-1][1])


def _answer(location_id, rows, recorded_by, import_id, first_row, user_id):
    return {
        "import_id": import_id,
        "location_id": location_id,
        "accepted": len(rows),
        "duplicate": 0,
        "rejected": 0,
        "rows": [
            {"row": first_row + i, "record_id": r["record_id"], "status": "accepted",
             "administration_id": None, "recipient_id": None, "errors": None}
            for i, r in enumerate(rows)
        ],
    }  # fmt: skip


def test_an_import_is_sent_to_administration_in_chunks_of_one_import(app, client, rpc, login):
    rpc.answer("administration.import_administrations", chunk_answer(rpc))
    response = client.post(
        "/api/v1/locations/demo-clinic/administration-imports?first_row=2",
        data=csv_body(1200),
        headers=login("clinic.vaccinator", **{"Content-Type": "text/csv"}),
    )

    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert (report["accepted"], len(report["rows"])) == (1200, 1200)
    calls = [args for name, args in rpc.calls]
    assert [(len(a[1]), a[4]) for a in calls] == [(1000, 2), (200, 1002)]
    assert {a[3] for a in calls} == {report["import_id"]}
    assert calls[0][1][0] == {
        "record_id": "R-0",
        "given_name": "Ana",
        "family_name": "Garcia",
        "birth_date": "1960-02-01",
        "administered_at": "2026-01-10",
        "lot_number": "FK5127",
    }
    assert response.headers["Location"].endswith(f"/administration-imports/{report['import_id']}")


def test_a_row_longer_than_the_header_is_marked_for_rejection(client, rpc, login):
    rpc.answer("administration.import_administrations", chunk_answer(rpc))
    client.post(
        "/api/v1/locations/demo-clinic/administration-imports",
        data=csv_body(
            1, extra=["R-9", "Ana", "Garcia", "1960-02-01", "2026-01-10", "L", "surplus"]
        ),
        headers=login("clinic.vaccinator", **{"Content-Type": "text/csv"}),
    )
    rows = rpc.calls[0][1][1]
    assert rows[1]["_extra_cells"] == "surplus"


def test_a_file_that_is_not_the_template_is_refused(client, rpc, login):
    headers = login("clinic.vaccinator", **{"Content-Type": "text/csv"})
    path = "/api/v1/locations/demo-clinic/administration-imports"
    wrong = client.post(path, data=b"record_id,shoe_size\nR-1,38\n", headers=headers)
    empty = client.post(path, data=csv_body(0), headers=headers)
    not_csv = client.post(path, json={"rows": []}, headers=login("clinic.vaccinator"))
    assert wrong.status_code == 400
    assert wrong.get_json()["fields"]["header"][0] == "Unknown columns: shoe_size."
    assert empty.status_code == 400
    assert not_csv.status_code == 400
    assert not_csv.get_json()["message"] == "Send the file as text/csv."
    assert rpc.calls == []


def test_the_report_as_csv(client, rpc, login):
    rpc.answer(
        "administration.import_report",
        {
            "rows": [
                {"row": 2, "record_id": "R-1", "status": "accepted", "administration_id": "a",
                 "recipient_id": "r", "errors": None},
                {"row": 3, "record_id": "R-2", "status": "rejected", "administration_id": None,
                 "recipient_id": None, "errors": {"birth_date": ["Not a valid date."]}},
            ]
        },
    )  # fmt: skip
    response = client.get(
        f"/api/v1/locations/demo-clinic/administration-imports/{uuid.uuid4()}/report.csv",
        headers=login("clinic.manager"),
    )
    lines = response.get_data(as_text=True).splitlines()
    assert lines == [
        "row,record_id,status,administration_id,recipient_id,errors",
        "2,R-1,accepted,a,r,",
        "3,R-2,rejected,,,birth_date: Not a valid date.",
    ]
