#!/usr/bin/env python3
"""Push driver for bench/run: OCI blob pushes without a shell in the loop.

Each worker thread keeps one HTTP/1.1 connection open and pushes blobs with
the two-step protocol every registry supports (POST to start, PUT with the
body and the digest), or chunked (PATCH pieces, then PUT). Bodies stream
from files in 1 MiB blocks. Prints the throughput in MiB/s of the bytes
pushed, timed from the first request to the last answer.

  push.py monolithic BASE REPO PARALLEL FILE...
  push.py chunked BASE REPO CHUNK_BYTES FILE
"""

import hashlib
import http.client
import os
import sys
import threading
import time
import urllib.parse

BLOCK = 1024 * 1024


def digest_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


class Registry:
    """One keep-alive connection to a registry at BASE (http://host:port)."""

    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, blocksize=BLOCK)

    def call(self, method, target, body=None, headers=None):
        self.conn.request(method, target, body=body, headers=headers or {})
        response = self.conn.getresponse()
        response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {target}: {response.status}")
        return response

    def start(self, repo):
        response = self.call("POST", f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
        return self.path_of(response.getheader("Location"))

    @staticmethod
    def path_of(location):
        url = urllib.parse.urlsplit(location)
        return url.path + ("?" + url.query if url.query else "")

    @staticmethod
    def with_digest(location, digest):
        return location + ("&" if "?" in location else "?") + "digest=" + digest

    def monolithic(self, repo, path, digest):
        location = self.start(repo)
        with open(path, "rb") as body:
            self.call("PUT", self.with_digest(location, digest), body=body, headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(os.path.getsize(path)),
            })

    def chunked(self, repo, path, digest, chunk):
        location = self.start(repo)
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            start = 0
            while start < size:
                piece = f.read(chunk)
                response = self.call("PATCH", location, body=piece, headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{start}-{start + len(piece) - 1}",
                    "Content-Length": str(len(piece)),
                })
                location = self.path_of(response.getheader("Location"))
                start += len(piece)
        self.call("PUT", self.with_digest(location, digest), headers={"Content-Length": "0"})


def main():
    mode, base, repo = sys.argv[1:4]
    if mode == "monolithic":
        parallel = int(sys.argv[4])
        files = sys.argv[5:]
        jobs = [(path, digest_of(path)) for path in files]
        lock = threading.Lock()
        errors = []

        def worker():
            registry = Registry(base)
            while True:
                with lock:
                    if not jobs:
                        return
                    path, digest = jobs.pop()
                try:
                    registry.monolithic(repo, path, digest)
                except Exception as error:  # reported below, fails the run
                    errors.append(error)
                    return

        threads = [threading.Thread(target=worker) for _ in range(parallel)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        if errors:
            sys.exit(f"push failed: {errors[0]}")
        total = sum(os.path.getsize(p) for p in files)
    elif mode == "chunked":
        chunk, path = int(sys.argv[4]), sys.argv[5]
        digest = digest_of(path)
        t0 = time.perf_counter()
        Registry(base).chunked(repo, path, digest, chunk)
        elapsed = time.perf_counter() - t0
        total = os.path.getsize(path)
    else:
        sys.exit(f"unknown mode {mode}")
    print(f"{total / BLOCK / elapsed:.1f}")


if __name__ == "__main__":
    main()
