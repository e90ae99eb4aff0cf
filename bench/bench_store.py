"""Benchmark the store: a 256 MiB artifact and 1,000 small artifacts, on a local folder and on S3.

Run: python bench/bench_store.py   (S3 is moto's standalone server, a Python process on 127.0.0.1
started here: the figures show our overhead and concurrency, not what a real S3 endpoint would give)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from flowship.providers.storage import open_storage
from flowship.runtime.datastore import FlowDatastore


def measure(url: str) -> tuple[float, float, float, float]:
    store = FlowDatastore(open_storage(url), "Bench")
    array = np.random.default_rng(0).random(32 * 1024 * 1024)
    began = time.perf_counter()
    ref = store.save_artifact("big", array)
    saved = time.perf_counter()
    store.load_artifact("big", ref)
    loaded = time.perf_counter()
    small = [(f"a{i}", {"i": i, "name": f"item {i}"}) for i in range(1000)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        began_small = time.perf_counter()
        refs = list(pool.map(lambda item: store.save_artifact(*item), small))
        saved_small = time.perf_counter()
        list(pool.map(lambda pair: store.load_artifact(pair[0][0], pair[1]), zip(small, refs)))
        loaded_small = time.perf_counter()
    return saved - began, loaded - saved, saved_small - began_small, loaded_small - saved_small


def main() -> None:
    import boto3

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1")
    for _ in range(100):
        with socket.socket() as client:
            if client.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    boto3.client("s3").create_bucket(Bucket="bench")
    print(f"{'store':<22}{'256 MiB save':>14}{'load':>10}{'1,000 small save':>19}{'load':>10}")
    with tempfile.TemporaryDirectory() as folder:
        for name, url in (("local folder", folder), ("S3 (loopback moto)", "s3://bench/flowship")):
            big_save, big_load, small_save, small_load = measure(url)
            print(f"{name:<22}{big_save:>13.2f}s{big_load:>9.2f}s{small_save:>18.2f}s{small_load:>9.2f}s")
    server.terminate()
    server.wait()


if __name__ == "__main__":
    main()
