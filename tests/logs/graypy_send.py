"""Sends log records to lookout with the real graypy handlers (the Python GELF client).

    graypy_send.py MODE HOST PORT TAG

MODE is udp (GELFUDPHandler with a small chunk size, so a long record goes as many compressed
chunks), tcp (GELFTCPHandler, NUL-framed) or http (GELFHTTPHandler, compressed, which sends each
request and closes without reading the reply).
Each mode sends an error with a `component` extra field (graypy turns it into `_component`) and
a long warning that the UDP handler must chunk; TAG makes the messages unique to one test run.
"""
import logging
import sys
import time

import graypy


def main():
    mode, host, port, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if mode == "udp":
        handler = graypy.GELFUDPHandler(
            host, port, gelf_chunker=graypy.handler.GELFWarningChunker(chunk_size=300), compress=True
        )
    elif mode == "tcp":
        handler = graypy.GELFTCPHandler(host, port)
    elif mode == "http":
        handler = graypy.GELFHTTPHandler(host, port, path="/gelf")
    else:
        raise SystemExit("mode must be udp, tcp or http")
    log = logging.getLogger("lookout.interop")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(handler)
    log.error("%s render failed", tag, extra={"component": "webapp.backend.git", "repo": "linux"})
    # ~6 KB of varied text: compressed, still several 300-byte chunks.
    words = " ".join("w%d-%d" % (i, (i * 7919) % 104729) for i in range(700))
    log.warning("%s long %s", tag, words, extra={"component": "webapp.backend.git"})
    handler.flush()
    handler.close()
    time.sleep(0.2)  # lets the kernel send the last datagrams before the process exits


if __name__ == "__main__":
    main()
