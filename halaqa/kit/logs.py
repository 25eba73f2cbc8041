"""Logging: one handler on the root logger, text or JSON lines, and context (the job or session
being worked on) carried by contextvars into every line written while it is in force."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from halaqa.config import LogFormat, LogLevel

_context: ContextVar[Mapping[str, Any]] = ContextVar(
    "halaqa_log_context", default=MappingProxyType({})
)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Their own handlers write plain text; in JSON mode their lines go through ours instead.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.access")


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Adds `fields` to every line logged inside the block (None values are left out)."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, Any]:
    return _context.get()


class TextFormatter(logging.Formatter):
    """The classic line, then the context as key=value pairs."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(f"{k}={v}" for k, v in current_context().items())
        if not context:
            return line
        first, newline, rest = line.partition("\n")  # after the message, before a traceback
        return f"{first} [{context}]{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context, any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            # When the line was written (wall time), not the application clock's "now".
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **current_context(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is when a line is written (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def configure_logging(level: LogLevel, log_format: LogFormat) -> None:
    """Installs Halaqa's handler on the root logger, replacing the one a previous call installed
    and leaving any other (a test runner's) in place; safe to call again."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.value)
    if log_format is LogFormat.JSON:
        for name in UVICORN_LOGGERS:
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = True
