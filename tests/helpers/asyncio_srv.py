#!/usr/bin/env python3
"""asyncio_srv.py - a line server in Python's asyncio, written the way its
users write one, for the tests that point evbench's load generator at servers
nobody here wrote (tests/test_foreign.c).

    asyncio_srv.py --port N [--addr A] [--protocol rot13|echo]

Every line (up to and including its newline) is answered with its rot13 or,
under echo, with itself (docs/protocol.md); at the client's end of input what
is left of a line goes back the same way. The standard library only. It prints
nothing: the caller knows the port it chose, and learns that the server is up
when the port accepts. SIGTERM and SIGINT end it with status 0. Bad arguments:
argparse's message and status 2.
"""
import argparse
import asyncio
import signal
import string

ROT13 = bytes.maketrans(
    (string.ascii_lowercase + string.ascii_uppercase).encode(),
    (string.ascii_lowercase[13:] + string.ascii_lowercase[:13] +
     string.ascii_uppercase[13:] + string.ascii_uppercase[:13]).encode())

# evbench's requests are at most 64 KiB; a StreamReader's default limit is
# exactly that, and readline() would fail on a request of that size.
LINE_LIMIT = 1 << 20


async def serve(reader, writer, echo):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            writer.write(line if echo else line.translate(ROT13))
            # Backpressure: stop reading while the client does not read.
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser(description="an asyncio rot13 or echo line server")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--protocol", choices=("rot13", "echo"), default="rot13")
    args = ap.parse_args()
    if not 1 <= args.port <= 65535:
        ap.error("--port must be 1..65535")

    echo = args.protocol == "echo"
    server = await asyncio.start_server(lambda r, w: serve(r, w, echo), args.addr, args.port,
                                        limit=LINE_LIMIT, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
