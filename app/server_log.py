"""gunicorn's error log without client addresses, request data or times of day.

gunicorn writes ``Invalid request from ip=<address>: <what was wrong>`` for
every malformed request (an oversized header, a bad request line, a broken
chunked body) whatever the access log setting, and ``Error handling request
<method> <uri>`` with a traceback when a request fails below the app. Both
would put a reporter's address, or what they sent, in a log. The logger
class here (``logger_class`` of ``visselpipa serve``):

- drops the per-request lines for malformed requests: nothing is written
  because a client sent something odd;
- keeps a request that failed below the app as the exception's type only
  (its message and traceback may quote the request), counted and written
  once a day with the app's other request-time lines (app/held_log.py);
- stamps lines with the day only (whoever collects stderr, such as
  journald, adds its own time: see SECURITY.md);
- and, as a last net, replaces any IP address in any line with
  ``[address]``, except the addresses the server itself listens on.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any

from gunicorn.glogging import Logger

from app import held_log

#: Lines gunicorn writes once per malformed request: dropped.
_MALFORMED_REQUEST = "Invalid request from ip="
#: Lines gunicorn writes when a request fails below the app: the type only.
_FAILED_REQUEST = (
    "Error handling request",
    "Socket error processing request",
    "Error processing SSL request",
)
_ADDRESS_CANDIDATE = re.compile(r"\[?[0-9A-Fa-f:.]*[.:][0-9A-Fa-f:.]+\]?")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


class _ClientRedaction(logging.Filter):
    def __init__(self, own_addresses: set[str]) -> None:
        super().__init__()
        self.own = own_addresses

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith(_MALFORMED_REQUEST):
            return False
        if message.startswith(_FAILED_REQUEST):
            # Held and written once a day (app/held_log.py): a line now would
            # carry the time of the request.
            kind = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
            line = f"{message.split(' %s')[0].rstrip('.')}: {kind or 'no exception'}"
            held_log.held.note(record.levelno, line)
            return False
        text = record.getMessage()
        redacted = _ADDRESS_CANDIDATE.sub(self._redact, text)
        if redacted != text:
            record.msg, record.args = redacted, ()
        if record.exc_info and record.exc_text is None:
            # Format the traceback now, so that it passes through the net too.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = _ADDRESS_CANDIDATE.sub(self._redact, record.exc_text)
        return True

    def _redact(self, match: re.Match[str]) -> str:
        found = match.group(0)
        for candidate in (found, found.rsplit(":", 1)[0]):  # an address with its port
            if _is_address(candidate):
                return found if candidate.strip("[]") in self.own else "[address]"
        return found


def _own_addresses(cfg: Any) -> set[str]:
    own = set()
    for bind in cfg.bind or ():
        host = str(bind).rsplit(":", 1)[0] if ":" in str(bind) else str(bind)
        own.add(host.strip("[]"))
    return own


class PrivateLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, minus client addresses, request data and times of day."""

    error_fmt = r"%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
    datefmt = r"%Y-%m-%d"

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        redaction = _ClientRedaction(_own_addresses(cfg))
        for log in (self.error_log, self.access_log):
            for old in [f for f in log.filters if isinstance(f, _ClientRedaction)]:
                log.removeFilter(old)
            log.addFilter(redaction)
