#!/usr/bin/env python3
"""Writes what one firedrill binary says about every library drill into a directory, so two
builds can be compared byte for byte (`diff -r`): a restructuring must leave them identical.

    scripts/same-output.py BINARY OUTDIR [DRILL...]
    scripts/same-output.py --compare OLD_BINARY NEW_BINARY [DRILL...]

For each drill (default: drills/*.ron):
  simulate.json       `simulate --json`, less its wall-clock fields
  reference.jsonl     the transcript of `play --reference` (and wrong-NAME.jsonl per wrong response)
  reference.txt       what `play --reference` prints
  debrief-*.json      `debrief --format json` of each of those transcripts
  debrief-*.md        `debrief --format md`
  streams/*.sse       the war room's event streams (facilitator, a player, the projector) for a
                      turn-clock room that plays the reference through `serve`, room id and
                      tokens replaced by placeholders

Only loopback is used; the server runs on a free port with its own data directory.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WALL_CLOCK = {"wall_seconds", "events_per_second", "wall_time_seconds", "elapsed_seconds"}


def run(binary, *args, check=True):
    out = subprocess.run([binary, *args], cwd=ROOT, capture_output=True, text=True)
    if check and out.returncode not in (0, 1):
        raise SystemExit(f"{binary} {' '.join(args)} exited {out.returncode}: {out.stderr}")
    return out.stdout


def strip_wall_clock(value):
    if isinstance(value, dict):
        return {k: strip_wall_clock(v) for k, v in value.items() if k not in WALL_CLOCK}
    if isinstance(value, list):
        return [strip_wall_clock(v) for v in value]
    return value


def wrong_names(binary, drill):
    text = (ROOT / drill).read_text()
    block = text.split("wrong_responses", 1)
    if len(block) < 2:
        return []
    return re.findall(r'Response\(\s*name:\s*"([^"]+)"', block[1])


class Http:
    def __init__(self, addr):
        self.addr = addr

    def call(self, method, path, headers=None, body=None):
        host, port = self.addr
        data = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        with socket.create_connection(self.addr, timeout=60) as s:
            s.sendall(head.encode() + b"\r\n" + data)
            raw = b""
            while chunk := s.recv(65536):
                raw += chunk
        head, _, rest = raw.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        if b"transfer-encoding: chunked" in head.lower():
            out = b""
            while rest:
                size, _, rest = rest.partition(b"\r\n")
                n = int(size, 16)
                if n == 0:
                    break
                out += rest[:n]
                rest = rest[n + 2:]
            rest = out
        return status, rest.decode()

    def stream(self, path, stop="event: end"):
        host, port = self.addr
        with socket.create_connection(self.addr, timeout=120) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
            raw = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                raw += chunk
                text = raw.decode(errors="replace")
                at = text.find(stop)
                if at >= 0 and "\n\n" in text[at:]:
                    break
        _, _, body = raw.partition(b"\r\n\r\n")
        # Chunk sizes depend on how the bytes were flushed; keep only the SSE lines.
        lines = [l for l in body.decode(errors="replace").split("\r\n")
                 if not re.fullmatch(r"[0-9a-fA-F]+", l)]
        text = "".join(lines)
        # What came in the same read after the end event depends on how the bytes were sent.
        at = text.find(stop)
        if at >= 0:
            text = text[: text.index("\n\n", at) + 2]
        return text


def link(http, token):
    status, me = http.call("GET", "/api/me", {"X-Firedrill-Token": token})
    assert status == 200, me
    return {"X-Firedrill-Token": token, "X-Firedrill-Csrf": json.loads(me)["csrf"]}


def war_room_streams(binary, drill_name, transcript, out):
    lines = [json.loads(l) for l in transcript.read_text().splitlines()[1:] if l.strip()]
    data = Path(tempfile.mkdtemp(prefix="firedrill-same-"))
    server = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data", str(data)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = server.stdout.readline()
        host_port = first.split("http://")[1].split("/")[0]
        host, port = host_port.split(":")
        http = Http((host, int(port)))
        admin = link(http, first.split("#admin=")[1].strip())
        status, created = http.call("POST", "/api/rooms", admin, {"drill": drill_name, "clock": "turns"})
        assert status == 200, created
        created = json.loads(created)
        room, tokens = created["id"], created["tokens"]
        fac = link(http, tokens["facilitator"])
        path = lambda what: f"/api/rooms/{room}/{what}"
        players = {}
        for role in sorted({l["role"] for l in lines if l.get("input") != "end"}):
            players[role] = link(http, tokens["roles"][role])
            status, text = http.call("POST", path("join"), players[role], {"name": f"{role}-player"})
            assert status == 200, text
        end_at = None
        for line in lines:
            if line["input"] == "end":
                end_at = line["at_ns"]
                break
            status, text = http.call("POST", path("control"), fac, {"op": "advance", "to_ns": line["at_ns"]})
            assert status == 200, text
            status, text = http.call("POST", path("command"), players[line["role"]],
                                     {"name": f"{line['role']}-player", "line": line["input"]})
            assert status == 200, text
        if end_at is not None:
            status, text = http.call("POST", path("control"), fac, {"op": "advance", "to_ns": end_at})
            if json.loads(text).get("ended") is not True:
                http.call("POST", path("control"), fac, {"op": "end"})
        streams = {"facilitator": tokens["facilitator"], "projector": tokens["projector"]}
        for role in sorted(players):
            streams[role] = tokens["roles"][role]
        (out / "streams").mkdir(exist_ok=True)
        secrets = [room, tokens["facilitator"], tokens["projector"], *tokens["roles"].values()]
        for who, token in streams.items():
            text = http.stream(f"{path('events')}?t={token}")
            for i, secret in enumerate(secrets):
                text = text.replace(secret, f"<secret{i}>")
            (out / "streams" / f"{who}.sse").write_text(text)
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(data, ignore_errors=True)


def write_all(binary, outdir, drills):
    binary = str(Path(binary).resolve())
    for drill in drills:
        name = Path(drill).stem
        out = Path(outdir) / name
        out.mkdir(parents=True, exist_ok=True)
        sim = json.loads(run(binary, "simulate", drill, "--json"))
        (out / "simulate.json").write_text(json.dumps(strip_wall_clock(sim), indent=1, sort_keys=True))
        plays = [("reference", ["--reference"])]
        plays += [(f"wrong-{w}", ["--wrong", w]) for w in wrong_names(binary, drill)]
        for label, flags in plays:
            transcript = out / f"{label}.jsonl"
            transcript.unlink(missing_ok=True)
            (out / f"{label}.txt").write_text(run(binary, "play", drill, *flags, "--transcript", str(transcript), "--no-record"))
            for fmt in ("json", "md"):
                (out / f"debrief-{label}.{fmt}").write_text(run(binary, "debrief", str(transcript), "--format", fmt))
        war_room_streams(binary, name, out / "reference.jsonl", out)
        print(f"{name}: done", file=sys.stderr)


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    if args[0] == "--compare":
        old, new, *drills = args[1:]
        drills = drills or sorted(str(p.relative_to(ROOT)) for p in (ROOT / "drills").glob("*.ron"))
        base = Path(tempfile.mkdtemp(prefix="firedrill-compare-"))
        write_all(old, base / "old", drills)
        write_all(new, base / "new", drills)
        diff = subprocess.run(["diff", "-r", str(base / "old"), str(base / "new")], capture_output=True, text=True)
        if diff.returncode == 0:
            print(f"identical: {len(drills)} drills ({base})")
            return 0
        print(diff.stdout[:20000])
        print(f"DIFFERENT ({base})")
        return 1
    binary, outdir, *drills = args
    drills = drills or sorted(str(p.relative_to(ROOT)) for p in (ROOT / "drills").glob("*.ron"))
    write_all(binary, outdir, drills)
    return 0


if __name__ == "__main__":
    sys.exit(main())
