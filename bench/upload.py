"""Memory of `visselpipa serve` while a 200 MB file is uploaded.

Not part of the test suite. Run: ``.venv/bin/python bench/upload.py [--mib 200]``

Starts the real server (``visselpipa init`` + ``serve``, one gunicorn worker,
plain HTTP on 127.0.0.1, SQLite in a temporary directory, the cheapest
Argon2id: memory is what is measured), warms it up with a small report, then
sends one report with a MIB-sized attachment (a valid WAV: a header, then
noise) streamed from a generator, so the client never holds it either, and
samples the worker's resident set size (``VmRSS`` from /proc/<pid>/status)
every 10 ms during the upload. Prints the idle RSS, the peak, their
difference, the upload time and throughput; repeats and quotes medians. The
idle figure is taken once, after the warm-up, so that memory an upload takes
and the allocator keeps counts against every later repeat too.
The aim (issue 5): peak within 64 MB of idle.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine  # noqa: E402

from tests.functional.blobs import stored_blob_ids  # noqa: E402
from tests.functional.pages import hidden_fields  # noqa: E402
from tests.live_server import start_live_server  # noqa: E402

MIB = 1024 * 1024


def rss_bytes(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(match.group(1)) * 1024 if match else 0


def worker_pid(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise RuntimeError("no gunicorn worker found")


class PeakSampler(threading.Thread):
    """Samples a process's RSS every 10 ms until finished; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(0.01)

    def finish(self) -> int:
        self.stop.set()
        self.join()
        return self.peak


class Session:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port, self.cookie = host, port, ""

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        conn.putrequest(method, path)
        for key, value in headers.items():
            conn.putheader(key, value)
        conn.endheaders()
        if body is not None:
            for piece in body:
                conn.send(piece)
        response = conn.getresponse()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        text = response.read().decode(errors="replace")
        conn.close()
        return response.status, text


def upload(session: Session, size: int) -> tuple[int, float]:
    status, page = session.request("GET", "/report")
    fields = {
        **hidden_fields(page),
        "category": "procurement",
        "agency": "trafikverket",
        "what": "The attached recording shows the head of unit steering the tender.",
        "contact_choice": "none",
    }
    boundary = uuid.uuid4().hex
    head = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        ).encode()
        + (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="recording.wav"\r\nContent-Type: audio/wav\r\n\r\n'
        ).encode()
    )
    tail = f"\r\n--{boundary}--\r\n".encode()
    chunk = os.urandom(MIB)
    pcm = size - 44
    wav_header = (
        b"RIFF"
        + (36 + pcm).to_bytes(4, "little")
        + b"WAVEfmt "
        + (16).to_bytes(4, "little")
        + (1).to_bytes(2, "little")
        + (1).to_bytes(2, "little")
        + (44100).to_bytes(4, "little")
        + (88200).to_bytes(4, "little")
        + (2).to_bytes(2, "little")
        + (16).to_bytes(2, "little")
        + b"data"
        + pcm.to_bytes(4, "little")
    )

    def body():
        yield head
        yield wav_header
        sent = 44
        while sent < size:
            piece = chunk[: min(MIB, size - sent)]
            sent += len(piece)
            yield piece
        yield tail

    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail)),
    }
    started = time.perf_counter()
    status, _ = session.request("POST", "/report", body(), headers)
    return status, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    size = args.mib * MIB
    limits = {
        "max_file_bytes": str(size + MIB),
        "max_request_bytes": str(size + 4 * MIB),
        "limit_report": "1000/hour",
    }
    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        start_live_server(Path(tmp), settings=limits) as server,
    ):
        # The live-server helper uses the cheapest Argon2id; this benchmark is
        # about memory, and one derivation per upload does not change it.
        port = int(server.url.rsplit(":", 1)[1])
        worker = worker_pid(server.process.pid)
        database = server.data_dir / "visselpipa.sqlite3"
        warm = Session("127.0.0.1", port)
        upload(warm, MIB)  # import everything, open the database, fill caches
        # One baseline for all repeats: memory an upload takes and the
        # allocator keeps would otherwise hide in the next repeat's "idle".
        idle = rss_bytes(worker)
        for _ in range(args.repeats):
            sampler = PeakSampler(worker)
            sampler.start()
            status, seconds = upload(Session("127.0.0.1", port), size)
            peak = max(idle, sampler.finish())
            if status != 200:
                raise SystemExit(f"upload failed with HTTP {status}:\n{server.output()}")
            blobs = stored_blob_ids(create_engine(f"sqlite:///{database}"))
            on_disk = sum(f.stat().st_size for f in server.data_dir.glob("visselpipa.sqlite3*"))
            rows.append((idle, peak, seconds))
            print(
                f"idle {idle / MIB:7.1f} MiB  peak {peak / MIB:7.1f} MiB  "
                f"growth {(peak - idle) / MIB:6.1f} MiB  upload {seconds:6.2f} s  "
                f"{args.mib / seconds:6.1f} MiB/s  ({len(blobs)} sealed files in the database, "
                f"database + WAL {on_disk / MIB:.0f} MiB)"
            )
    growth = statistics.median((p - i) / MIB for i, p, _ in rows)
    seconds = statistics.median(s for _, _, s in rows)
    print()
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    print(f"{args.mib} MiB upload, {args.repeats} repeats, one gunicorn worker, SQLite")
    print(f"median RSS growth over idle: {growth:.1f} MiB (aim: < 64 MiB)")
    print(f"median upload time: {seconds:.2f} s ({args.mib / seconds:.1f} MiB/s incl. sealing)")


if __name__ == "__main__":
    main()
