"""A real SMTP server for the notification tests (aiosmtpd), behind a tap that
keeps every byte a client sent it: the mails and the whole SMTP dialogue."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Received:
    """What the server took: the mails, and the raw bytes clients sent through the tap."""

    mails: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    raw: bytearray = field(default_factory=bytearray)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for _, rcpts, m in self.mails if address in rcpts]

    def clear(self) -> None:
        with self.lock:
            self.mails.clear()


@contextmanager
def smtp_server(port: int) -> Iterator[Received]:
    """An SMTP server listening on 127.0.0.1:``port`` until the block ends."""
    received = Received()
    inner = free_port()
    controller = Controller(received, hostname="127.0.0.1", port=inner)
    controller.start()
    listener = socket.create_server(("127.0.0.1", port))
    stop = threading.Event()

    def pipe(src: socket.socket, dst: socket.socket, keep: bool) -> None:
        try:
            while chunk := src.recv(65536):
                if keep:
                    with received.lock:
                        received.raw.extend(chunk)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", inner))
            threading.Thread(target=pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client, False), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield received
    finally:
        stop.set()
        acceptor.join()
        listener.close()
        controller.stop()
