"""Load test of the web app's `/ask` API: concurrent gradio_client users against `gaoxin serve --fast`.

    .venv/bin/python benchmarks/load_test.py [--quick] [--clients 20] [--per-client 5] [--url URL]

Starts `gaoxin serve --fast` on a free loopback port (or attaches to --url), waits until it answers,
sends one untimed warm-up question (model load), then `clients` threads each ask `per-client` dev
questions one after another through `Client.submit(q, api_name="/ask")`. Every request must come
back with an answer (string) and a sources list; errors and requests still pending at the global
timeout are counted and make the script exit 1.

Reported: per-request latency p50/p95 (submit → result), queue wait (submit → the job's status
turns PROCESSING), the largest queue position and queue size the server reported, throughput,
and the server's RSS (psutil, the server process and its children, sampled every 0.5 s).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
from measure import OUT_DIR, dev_questions, parser, print_targets, summary, target, write_result

from rag.settings import ROOT

STARTUP_S = 300
RSS_TARGET_MB = 2.5 * 1024
POLL_S = 0.1
WARMUP = "昆山高新区的主要产业有哪些？"  # not from the dev set; loads the models before the clock starts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log_path: Path) -> tuple[subprocess.Popen, str]:
    """`gaoxin serve --fast` on a free port; returns once the page answers (or raises with the log tail)."""
    port = free_port()
    exe = Path(sys.executable).with_name("gaoxin")
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "rag.cli"]
    cmd += ["serve", "--fast", "--host", "127.0.0.1", "--port", str(port)]
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", NO_PROXY="127.0.0.1,localhost")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + STARTUP_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
        if time.time() > deadline:
            stop_server(proc)
            raise RuntimeError(f"server not up after {STARTUP_S}s:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


class RssSampler(threading.Thread):
    """Samples the RSS of `pid` plus its children until stopped."""

    def __init__(self, pid: int, every_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.every_s = every_s
        self.samples: list[tuple[float, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        t0 = time.perf_counter()
        while not self._halt.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
            except psutil.Error:
                break
            self.samples.append((round(time.perf_counter() - t0, 1), round(rss / 2**20, 1)))
            self._halt.wait(self.every_s)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def ask_once(client: Any, question: str, deadline: float) -> dict[str, Any]:
    """One request: latency, queue wait, largest queue position seen; never raises."""
    from gradio_client.utils import Status

    rec: dict[str, Any] = {"question": question, "ok": False, "error": None, "max_rank": None, "max_queue": None}
    t0 = time.perf_counter()
    try:
        job = client.submit(question, api_name="/ask")
        started = None
        while not job.done():
            if time.time() > deadline:
                job.cancel()
                rec["error"] = "lost: global timeout"
                return rec
            st = job.status()
            if st.rank is not None:
                rec["max_rank"] = max(rec["max_rank"] or 0, st.rank)
            if st.queue_size is not None:
                rec["max_queue"] = max(rec["max_queue"] or 0, st.queue_size)
            if started is None and st.code in (Status.PROCESSING, Status.ITERATING, Status.PROGRESS):
                started = time.perf_counter()
            time.sleep(POLL_S)
        answer, sources = job.result(timeout=max(1.0, deadline - time.time()))
        rec["latency_s"] = round(time.perf_counter() - t0, 2)
        # A job that finished between two polls never showed PROCESSING: its wait is unknown, not zero.
        rec["queue_wait_s"] = round(started - t0, 2) if started is not None else None
        if not isinstance(answer, str) or not answer.strip() or not isinstance(sources, list):
            rec["error"] = f"bad response: {type(answer).__name__} {type(sources).__name__}"
        else:
            rec["ok"] = True
            rec["answer_chars"] = len(answer)
    except Exception as e:  # noqa: BLE001 - every failure is a counted result, not a crash
        rec["error"] = f"{type(e).__name__}: {e}"[:300]
    return rec


def main() -> dict[str, Any]:
    ap = parser(__doc__)
    ap.add_argument("--url", help="attach to a running server instead of starting one")
    ap.add_argument("--clients", type=int, default=None, help="concurrent users (default 20, --quick 3)")
    ap.add_argument("--per-client", type=int, default=None, help="questions per user (default 5, --quick 2)")
    ap.add_argument("--timeout", type=float, default=None, help="global timeout in s (default 1800, --quick 600)")
    args = ap.parse_args()
    n_clients = args.clients or (3 if args.quick else 20)
    per_client = args.per_client or (2 if args.quick else 5)
    timeout_s = args.timeout or (600.0 if args.quick else 1800.0)

    from gradio_client import Client

    proc = None
    log_path = OUT_DIR / "load_test-server.log"
    t0 = time.perf_counter()
    if args.url:
        url = args.url
        pid = None
    else:
        proc, url = start_server(log_path)
        pid = proc.pid
    startup_s = round(time.perf_counter() - t0, 1)
    sampler = RssSampler(pid) if pid else None
    if sampler:
        sampler.start()
    try:
        print(f"server {url} (up in {startup_s} s); warm-up question…", flush=True)
        warm = ask_once(Client(url, verbose=False), WARMUP, time.time() + STARTUP_S)
        print(f"warm-up: {warm.get('latency_s')} s {'ok' if warm['ok'] else warm['error']}", flush=True)
        qs = dev_questions()
        clients = [Client(url, verbose=False) for _ in range(n_clients)]
        records: list[list[dict[str, Any]]] = [[] for _ in range(n_clients)]
        start = threading.Barrier(n_clients)
        deadline = time.time() + timeout_s

        def user(c: int) -> None:
            start.wait()
            for j in range(per_client):
                q = qs[(c * per_client + j) % len(qs)]
                if time.time() > deadline:
                    records[c].append({"question": q, "ok": False, "error": "lost: not sent before timeout"})
                    continue
                records[c].append(ask_once(clients[c], q, deadline))

        t_load = time.perf_counter()
        threads = [threading.Thread(target=user, args=(c,), daemon=True) for c in range(n_clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, deadline - time.time() + 30))
        wall_s = time.perf_counter() - t_load
        hung = sum(t.is_alive() for t in threads)
    finally:
        if sampler:
            sampler.stop()
        if proc is not None:
            stop_server(proc)

    flat = [r for rs in records for r in rs]
    expected = n_clients * per_client
    ok = [r for r in flat if r["ok"]]
    errors = [r for r in flat if not r["ok"] and not str(r["error"]).startswith("lost")]
    lost = expected - len(ok) - len(errors)
    lat = summary([r["latency_s"] for r in ok], 2)
    waits = [r["queue_wait_s"] for r in ok if r.get("queue_wait_s") is not None]
    ranks = [r["max_rank"] for r in flat if r.get("max_rank") is not None]
    qsizes = [r["max_queue"] for r in flat if r.get("max_queue") is not None]
    rss = [mb for _, mb in sampler.samples] if sampler else []
    res: dict[str, Any] = {
        "quick": args.quick,
        "url": url if args.url else "started: gaoxin serve --fast",
        "clients": n_clients,
        "per_client": per_client,
        "requests": expected,
        "ok": len(ok),
        "errors": len(errors),
        "lost": lost,
        "hung_threads": hung,
        "error_samples": sorted({str(r["error"]) for r in flat if r["error"]})[:5],
        "startup_s": startup_s,
        "warmup_s": warm.get("latency_s"),
        "wall_s": round(wall_s, 1),
        "throughput_rps": round(len(ok) / wall_s, 3) if wall_s else None,
        "latency_s": lat,
        "queue_wait_s": summary(waits, 2),
        "max_queue_position": max(ranks) if ranks else None,
        "max_queue_size": max(qsizes) if qsizes else None,
        "server_rss_mb": {"peak": max(rss), "p50": summary(rss)["p50"], "samples": len(rss)} if rss else None,
        "rss_series": sampler.samples[:: max(1, len(sampler.samples) // 200)] if sampler else [],
    }
    targets = [
        target("load test: failed or lost requests", len(errors) + lost, 0, "req"),
        target("load test: server peak RSS", max(rss) if rss else None, RSS_TARGET_MB, "MB"),
    ]
    # The 0 target has no meaningful ratio; the row still says ok/MISS.
    targets[0].update(ratio=0.0 if len(errors) + lost == 0 else float("inf"), ok=len(errors) + lost == 0)
    res["targets"] = targets
    print(
        f"{len(ok)}/{expected} ok, {len(errors)} errors, {lost} lost in {res['wall_s']} s"
        f" ({res['throughput_rps']} req/s) with {n_clients} clients × {per_client}"
    )
    print(f"latency s: p50 {lat.get('p50')} p95 {lat.get('p95')} max {lat.get('max')}")
    qw = res["queue_wait_s"]
    print(f"queue wait s: p50 {qw.get('p50')} p95 {qw.get('p95')}; max queue position {res['max_queue_position']}")
    if res["server_rss_mb"]:
        print(f"server RSS MB: peak {res['server_rss_mb']['peak']}")
    for e in res["error_samples"]:
        print("  error:", e)
    print_targets(targets)
    print("wrote", write_result("load_test", res, args.out))
    if errors or lost:
        raise SystemExit(1)
    return res


if __name__ == "__main__":
    main()
