"""A TCP relay on 127.0.0.1 that counts the bytes crossing it: bytes on the wire, per protocol.

A client pointed at the relay instead of the server sends exactly what it would on the network
(HTTP/1.1 headers and body, or HTTP/2 frames with gRPC messages, TLS aside); the relay forwards
both ways and adds up the bytes, so the two protocols are measured the same way.
"""

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Counted:
    """Bytes seen so far, each direction."""

    to_server: int = 0
    to_client: int = 0

    @property
    def total(self) -> int:
        return self.to_server + self.to_client


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counted: Counted, up: bool
) -> None:
    try:
        while data := await reader.read(65536):
            if up:
                counted.to_server += len(data)
            else:
                counted.to_client += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@contextlib.contextmanager
def relay(target_host: str, target_port: int) -> Iterator[tuple[int, Counted]]:
    """Run a counting relay to the target in a thread; yield its port and its counter."""
    counted = Counted()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port_box: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(target_host, target_port)
            await asyncio.gather(
                _pipe(reader, up_writer, counted, True), _pipe(up_reader, writer, counted, False)
            )
        except (ConnectionError, asyncio.CancelledError):
            # Ending normally at shutdown: asyncio logs a connection handler that was cancelled.
            writer.close()

    stop = asyncio.Event()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port_box.append(server.sockets[0].getsockname()[1])
        ready.set()
        await stop.wait()
        server.close()
        # Cancel the pipes of connections still open, so nothing outlives the loop.
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    def main() -> None:
        loop.run_until_complete(serve())
        loop.close()

    thread = threading.Thread(target=main, name="byte-relay", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the byte-counting relay did not start")
    try:
        yield port_box[0], counted
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
