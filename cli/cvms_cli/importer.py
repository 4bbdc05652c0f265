"""`cvms import FILE --location L`: send a filled administration CSV to the gateway's HTTP API
in parts (one import, so one report), with a progress bar, and write the report as CSV."""

from __future__ import annotations

import csv
import getpass
import io
import os
import sys
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import requests
from tqdm import tqdm

PART_ROWS = 1000  # rows per request: well under the gateway's body limit


def parts(path: Path, size: int = PART_ROWS):
    """(first row number, CSV text with the header) for each part of the file."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise SystemExit(f"error: {path} is empty")
        batch, first = [], 2
        for number, row in enumerate(reader, start=2):
            if not batch:
                first = number
            batch.append(row)
            if len(batch) == size:
                yield first, _csv([header, *batch])
                batch = []
        if batch:
            yield first, _csv([header, *batch])


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def count_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return max(0, sum(1 for _ in csv.reader(handle)) - 1)


def run(
    path: Path,
    location: str,
    *,
    url: str,
    username: str,
    password: str,
    report: Path,
    part_rows: int = PART_ROWS,
    concurrency: int = 2,
    quiet: bool = False,
) -> dict:
    """Import the file (`concurrency` parts in flight at once, all one import); returns the
    totals and writes the per-row report to `report`."""
    api = url.rstrip("/") + "/api/v1"
    signed_in = requests.post(
        f"{api}/auth/token", json={"username": username, "password": password}, timeout=30
    )
    if signed_in.status_code != 200:
        raise SystemExit(f"error: sign-in failed ({signed_in.status_code}): {signed_in.text}")
    authorization = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    local = threading.local()

    def http() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers.update(authorization)
        return local.session

    import_id = str(uuid.uuid4())
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0}

    def send(part: tuple[int, str]) -> dict:
        first_row, text = part
        response = http().post(
            f"{api}/locations/{location}/administration-imports",
            params={"import_id": import_id, "first_row": first_row},
            data=text.encode("utf-8"),
            headers={"Content-Type": "text/csv"},
            timeout=300,
        )
        if response.status_code != 201:
            raise SystemExit(
                f"error: rows from line {first_row} refused ({response.status_code}): "
                f"{response.text}\n(the rows sent before are kept: send the file again, they "
                "are reported as duplicates)"
            )
        return response.json()

    with (
        tqdm(total=count_rows(path), unit="row", disable=quiet, desc=path.name) as progress,
        ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool,
    ):
        # Parts are read lazily, at most a few ahead of those in flight.
        pending = set()
        for part in parts(path, part_rows):
            if len(pending) >= 2 * concurrency:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                _count(done, totals, progress)
            pending.add(pool.submit(send, part))
        _count(pending, totals, progress)
    report_csv = http().get(
        f"{api}/locations/{location}/administration-imports/{import_id}/report.csv", timeout=300
    )
    report_csv.raise_for_status()
    report.write_bytes(report_csv.content)
    return {"import_id": import_id, **totals}


def _count(done, totals: dict, progress) -> None:
    for future in done:
        answer = future.result()
        for status in totals:
            totals[status] += answer[status]
        progress.update(len(answer["rows"]))
        progress.set_postfix(totals)


def main(args) -> None:
    path = Path(args.file)
    if not path.is_file():
        raise SystemExit(f"error: no file {path}")
    password = args.password or os.environ.get("CVMS_PASSWORD") or getpass.getpass("Password: ")
    report = Path(args.report) if args.report else path.with_suffix(".report.csv")
    totals = run(
        path,
        args.location,
        url=args.url,
        username=args.username,
        password=password,
        report=report,
    )
    print(
        f"import {totals['import_id']}: {totals['accepted']} accepted, "
        f"{totals['duplicate']} duplicate, {totals['rejected']} rejected; report: {report}",
        file=sys.stdout,
    )
