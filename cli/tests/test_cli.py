"""`cvms`: the file split into parts that each carry the header, the rows counted, and the
commands refusing what they cannot do before touching the network. (`cvms import` against a
running CVMS: tests/test_offline_import.py.)"""

import csv
import io

import pytest

from cvms_cli import importer
from cvms_cli.main import main

HEADER = ["record_id", "given_name", "family_name", "birth_date", "administered_at", "lot_number"]


def write_rows(path, count: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for number in range(count):
            writer.writerow([f"r{number}", "Ada", "Lovelace", "1990-01-01", "2026-01-15", "L1"])


def test_a_file_is_sent_in_parts_each_with_the_header_and_its_first_line(tmp_path):
    path = tmp_path / "filled.csv"
    write_rows(path, 5)
    parts = list(importer.parts(path, size=2))
    assert [first for first, _ in parts] == [2, 4, 6]
    for _, text in parts:
        assert next(csv.reader(io.StringIO(text))) == HEADER
    assert [len(list(csv.reader(io.StringIO(text)))) - 1 for _, text in parts] == [2, 2, 1]
    assert importer.count_rows(path) == 5


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(SystemExit, match="is empty"):
        list(importer.parts(path))


def test_import_needs_a_username_and_an_existing_file(tmp_path, monkeypatch):
    monkeypatch.delenv("CVMS_USERNAME", raising=False)
    with pytest.raises(SystemExit, match="--username"):
        main(["import", str(tmp_path / "x.csv"), "--location", "demo-clinic"])
    with pytest.raises(SystemExit, match="no file"):
        main(["import", str(tmp_path / "x.csv"), "--location", "demo-clinic", "--username", "u"])


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit):
        main([])
    assert "import" in capsys.readouterr().err
