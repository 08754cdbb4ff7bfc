"""What a log line may hold: the API's log records masked at every handler."""

from __future__ import annotations

import logging
from typing import Any

from privacy.masking import mask_log_text


class MaskingFilter(logging.Filter):
    """Masks every log record that passes through a handler: message, arguments, traceback.

    Arguments are masked one by one and keep their places (uvicorn's access formatter unpacks
    them); arguments that are neither text nor numbers (exceptions, objects) are masked as their
    text. Tracebacks and stacks are formatted and masked into `exc_text` / `stack_info`, which
    formatters print instead of formatting `exc_info` again.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_masked", False):
            return True
        if isinstance(record.msg, str):
            record.msg = mask_log_text(record.msg)
        else:
            record.msg = mask_log_text(str(record.msg))
        if isinstance(record.args, dict):
            record.args = {k: _mask_arg(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_mask_arg(a) for a in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_log_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_log_text(record.stack_info)
        record._masked = True
        return True


def _mask_arg(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    masked = mask_log_text(text)
    return value if masked == text and not isinstance(value, str) else masked


def install_log_masking() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO)
    for handler in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                handler.addFilter(MaskingFilter())
