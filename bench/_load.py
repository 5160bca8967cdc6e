"""A small HTTP/1.1 keep-alive load generator on raw asyncio streams (low client overhead).

Bounded: it sends exactly `total` requests to one loopback address and stops.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def _worker(host: str, port: int, make_request: Callable[[int], bytes], counter: list[int], total: int,
                  latencies: list[float], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            i = counter[0]
            if i >= total:
                return
            counter[0] += 1
            start = time.perf_counter()
            writer.write(make_request(i))
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            code = int(status_line.split()[1])
            statuses[code] = statuses.get(code, 0) + 1
    finally:
        writer.close()


async def run_load(host: str, port: int, make_request: Callable[[int], bytes], *, total: int,
                   concurrency: int) -> tuple[float, list[float], dict[int, int]]:
    counter = [0]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    await asyncio.gather(*(_worker(host, port, make_request, counter, total, latencies, statuses)
                           for _ in range(concurrency)))
    return time.perf_counter() - start, latencies, statuses


def http_post(path: str, body: bytes, host: str, extra_headers: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra_headers}\r\n").encode() + body
