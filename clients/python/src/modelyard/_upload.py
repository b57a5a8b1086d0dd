"""Streaming multipart uploads: the ``spec`` JSON field, then the file, read in chunks and never held whole in
memory. The length is known up front (the API refuses oversized uploads before they are stored), and the
progress callback or bar sees every chunk as it leaves."""

from __future__ import annotations

import json
import os
import secrets
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, Union

from tqdm.auto import tqdm

ProgressCallback = Callable[[int, int], None]
Progress = Union[bool, ProgressCallback, None]
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

CHUNK = 256 * 1024


def source_size(src: Source) -> int:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return len(src)
    return os.stat(os.fspath(src)).st_size


def _chunks(src: Source) -> Iterator[bytes]:
    if isinstance(src, (bytes, bytearray, memoryview)):
        view = memoryview(src)
        for i in range(0, len(view), CHUNK):
            yield bytes(view[i : i + CHUNK])
        return
    with open(os.fspath(src), "rb") as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                return
            yield b


def progress_reporter(
    progress: Progress, label: str, total: int, unit: str = "B"
) -> Tuple[ProgressCallback, Callable[[], None]]:
    """A (report(done, total), close()) pair: a caller's callback, a tqdm bar (``True``), or nothing."""
    if callable(progress):
        return progress, lambda: None
    if not progress:
        return (lambda done, total: None), lambda: None
    bar = tqdm(
        total=total,
        desc=label,
        unit=unit,
        unit_scale=unit == "B",
        unit_divisor=1024 if unit == "B" else 1000,
        leave=True,
    )

    def report(done: int, _total: int) -> None:
        bar.update(max(0, done - bar.n))

    return report, bar.close


def multipart(
    spec: Any, src: Source, filename: str, report: ProgressCallback
) -> Tuple[Iterator[bytes], Dict[str, str]]:
    """The body as an iterator plus the headers (content type with its boundary, content length)."""
    boundary = "----modelyard" + secrets.token_hex(12)
    safe = filename.replace('"', "").replace("\r", "").replace("\n", "")
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="spec"\r\nContent-Type: application/json\r\n\r\n'
        f"{json.dumps(spec, allow_nan=False)}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{safe}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = source_size(src)

    def body() -> Iterator[bytes]:
        sent = 0
        yield head
        report(0, size)
        for chunk in _chunks(src):
            sent += len(chunk)
            yield chunk
            report(sent, size)
        yield tail

    headers = {
        "content-type": f"multipart/form-data; boundary={boundary}",
        "content-length": str(len(head) + size + len(tail)),
        # An upload the API refuses midway (over its size limit) leaves the connection dropped but, to httpx,
        # looking reusable: the next request on it would fail. Uploads get a connection of their own.
        "connection": "close",
    }
    return body(), headers


def label_of(src: Source, default: str) -> Optional[str]:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return default
    return os.path.basename(os.fspath(src)) or default
