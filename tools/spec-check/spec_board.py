#!/usr/bin/env python3
"""A minimal board written from firmware-spec/protocol.md alone, to run Swim's controller against a board it
shares no code with.

    python3 tools/spec-check/spec_board.py [--port 5090] [--geometry 4x256x256] [--levels 16] [--max-batch 64]
        [--max-payload 1026] [--cache-depth 32] [--no-program-verify] [--seed 1] [--drop 0.01]

Its defaults sit at the spec's minimums where the spec has them (max_payload the larger of 1024 and
2 + 16 x max_batch, cache depth 32) and
differ from Swim's emulator elsewhere (16 levels, 64 cells a command, no COUNTERS, no BATCH). The device is
simple on purpose: PROGRAM lands within a few percent of the window of its target, each write-verify pulse
closes 70 % of the error with noise, READ adds read noise. STATUS reports the nominal device time (section 5).
One host connection at a time; the cells and the response cache survive a reconnect (section 1.3).
`--drop P` loses that fraction of requests and of responses, for a host's retransmissions. SIGUSR1 prints how many cells were the target of PROGRAM and of PROGRAM_VERIFY once and more than once.
"""

import argparse
import random
import signal
import socket
import struct
import time
import zlib

from spec_check import (BAD_CRC, BAD_LENGTH, BAD_VERSION, BATCH_TOO_LARGE, DID_NOT_CONVERGE,
                        FLAG_REPLAYED, FLAG_RESPONSE, IDENTIFY, MALFORMED, OK, OUT_OF_RANGE, OUTSIDE_SOA,
                        PROGRAM, PROGRAM_VERIFY, READ, RESET, STALE_SEQUENCE, STATUS, UNKNOWN_OPCODE, WRITE_PULSE,
                        body, cobs_decode, wire)


class Malformed(Exception):
    pass


class Refused(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class Device:
    def __init__(self, a):
        self.tiles, self.rows, self.columns = a.tiles, a.rows, a.columns
        self.levels, self.g_min, self.g_max = a.levels, 1.0, 60.0
        self.read_resolution = 0.05
        self.span = self.g_max - self.g_min
        self.g = [self.g_min] * (self.tiles * self.rows * self.columns)
        # How often each cell was the target of PROGRAM and of PROGRAM_VERIFY: what a host must never repeat.
        self.programmed = bytearray(len(self.g))
        self.verified = bytearray(len(self.g))
        self.rng = random.Random(a.seed)
        self.max_batch, self.max_payload, self.cache_depth = a.max_batch, a.max_payload, a.cache_depth
        self.program_verify = not a.no_program_verify
        self.read_ns, self.pulse_ns, self.iteration_ns = 800, 400, 1500
        self.start = time.monotonic()
        self.clear_counters()
        self.resets = 0

    def clear_counters(self):
        self.frames = self.crc_errors = self.framing_errors = self.replays = self.executed = self.resets = 0
        self.pulses = self.reads = self.iterations = 0

    def index(self, t, r, c):
        if t >= self.tiles or r >= self.rows or c >= self.columns:
            return None
        return (t * self.rows + r) * self.columns + c

    def read(self, i, samples=1):
        self.reads += 1
        noise = sum(self.rng.gauss(0, self.read_resolution) for _ in range(samples)) / samples
        return self.g[i] + noise

    def identify(self) -> bytes:
        caps = (1 if self.program_verify else 0) | 2
        model = b"spec-board"
        return (bytes([1, 0, 1, 0]) + b"SPEC-BOARD-0001".ljust(16, b"\x00")
                + struct.pack("<HHHHfffffIIHHHIIII", self.tiles, self.rows, self.columns, self.levels, self.g_min,
                              self.g_max, self.read_resolution, 0.5, 3.0, 20, 50_000, self.max_batch, self.max_payload,
                              self.cache_depth, self.read_ns, self.pulse_ns, self.iteration_ns, caps)
                + bytes([len(model)]) + model)

    def status(self) -> bytes:
        device_ns = (self.pulses * self.pulse_ns + self.reads * self.read_ns
                     + self.iterations * (self.iteration_ns - self.pulse_ns - self.read_ns))
        uptime = int((time.monotonic() - self.start) * 1e6)
        return struct.pack("<BQQIIIIIQQQI", 0, uptime, device_ns, self.frames, self.crc_errors, self.framing_errors,
                           self.replays, self.executed, self.pulses, self.reads, self.iterations, self.resets)


def cells(p: bytes, at: int, size: int, dev: Device):
    """A list of items starting with a cell, size bytes each: [(index or None, item bytes)], and the end offset."""
    if len(p) < at + 2:
        raise Malformed()
    (n,) = struct.unpack_from("<H", p, at)
    end = at + 2 + n * size
    if len(p) < end:
        raise Malformed()
    items = []
    for k in range(n):
        o = at + 2 + k * size
        t, r, c = struct.unpack_from("<HHH", p, o)
        items.append((dev.index(t, r, c), p[o + 6:o + size]))
    return items, end


def whole_list(p: bytes, size: int, dev: Device):
    """A payload that is one list of items, each a cell and size - 6 bytes more, no longer than max_batch."""
    items, end = cells(p, 0, size, dev)
    if end != len(p):
        raise Malformed()
    if len(items) > dev.max_batch:
        raise Refused(BATCH_TOO_LARGE)
    return items


def execute(dev: Device, opcode: int, p: bytes) -> tuple[int, bytes]:
    if opcode == IDENTIFY:
        return (OK, dev.identify()) if not p else (MALFORMED, b"")
    if opcode == STATUS:
        return (OK, dev.status()) if not p else (MALFORMED, b"")
    if opcode == RESET:
        if len(p) != 1:
            raise Malformed()
        if p[0] & 1:
            dev.clear_counters()
        return OK, b""
    if opcode == READ:
        if len(p) < 2:
            raise Malformed()
        mode, samples = p[0], p[1]
        if mode == 0:
            items, end = cells(p, 2, 6, dev)
            idx = [i for i, _ in items]
        elif mode == 1:
            if len(p) != 12:
                raise Malformed()
            t, r, c, nr, nc = struct.unpack_from("<HHHHH", p, 2)
            end = 12
            idx = [dev.index(t, r + y, c + x) for y in range(nr) for x in range(nc)]
            if nr and nc and dev.index(t, r + nr - 1, c + nc - 1) is None:
                return OUT_OF_RANGE, b""
        else:
            raise Malformed()
        if end != len(p):
            raise Malformed()
        if len(idx) > dev.max_batch:
            return BATCH_TOO_LARGE, b""
        if samples == 0 or None in idx:
            return OUT_OF_RANGE, b""
        return OK, struct.pack(f"<H{len(idx)}f", len(idx), *(dev.read(i, samples) for i in idx))
    if opcode == PROGRAM:
        items = whole_list(p, 11, dev)
        statuses = []
        for i, rest in items:
            kind, value = struct.unpack("<Bf", rest)
            if kind not in (0, 1):
                raise Malformed()
            if kind == 0:
                ok = value == value and value == int(value) and 0 <= value < dev.levels
                target = dev.g_min + value * dev.span / (dev.levels - 1) if ok else 0
            else:
                ok = dev.g_min <= value <= dev.g_max
                target = value
            if i is None or not ok:
                statuses.append(OUT_OF_RANGE)
                continue
            dev.pulses += 1
            dev.programmed[i] = min(255, dev.programmed[i] + 1)
            dev.g[i] = min(dev.g_max, max(dev.g_min, target + dev.rng.gauss(0, 0.03 * dev.span)))
            statuses.append(OK)
        return OK, struct.pack("<H", len(statuses)) + bytes(statuses)
    if opcode == PROGRAM_VERIFY and dev.program_verify:
        items = whole_list(p, 16, dev)
        parsed = [(i,) + struct.unpack("<ffH", rest) for i, rest in items]
        if any(i is None or not tol > 0 or limit == 0 for i, _, tol, limit in parsed):
            return OUT_OF_RANGE, b""
        out = []
        for i, target, tol, limit in parsed:
            if not dev.g_min <= target <= dev.g_max:
                out.append(struct.pack("<BHHf", OUT_OF_RANGE, 0, 0, 0.0))
                continue
            dev.verified[i] = min(255, dev.verified[i] + 1)
            g = dev.read(i, 4)
            iterations = 0
            while abs(g - target) > tol and iterations < limit:
                dev.pulses += 1
                dev.iterations += 1
                iterations += 1
                err = target - dev.g[i]
                dev.g[i] = min(dev.g_max, max(dev.g_min, dev.g[i] + 0.7 * err + dev.rng.gauss(0, 0.05 * abs(err) + 0.002 * dev.span)))
                g = dev.read(i, 4)
            out.append(struct.pack("<BHHf", OK if abs(g - target) <= tol else DID_NOT_CONVERGE, iterations, iterations, g))
        return OK, struct.pack("<H", len(out)) + b"".join(out)
    if opcode == WRITE_PULSE:
        items = whole_list(p, 15, dev)
        pulses = [(i,) + struct.unpack("<BfI", rest) for i, rest in items]
        if any(i is None for i, *_ in pulses) or any(pol > 1 for _, pol, _, _ in pulses):
            return OUT_OF_RANGE, b""
        if any(not (0.5 <= amp <= 3.0 and 20 <= width <= 50_000) for _, _, amp, width in pulses):
            return OUTSIDE_SOA, b""
        for i, polarity, amp, width in pulses:
            dev.pulses += 1
            step = dev.span * 0.02 * (amp - 0.4) * min(1.0, width / 1000)
            dev.g[i] = min(dev.g_max, max(dev.g_min, dev.g[i] + (step if polarity == 0 else -step)))
        return OK, struct.pack("<H", len(pulses))
    return UNKNOWN_OPCODE, b""


class Endpoint:
    """Section 3: sequence numbers, the response cache, stale numbers, new series."""

    def __init__(self, dev: Device):
        self.dev = dev
        self.cache: dict[int, bytes] = {}
        self.newest = None

    def behind(self, s):
        d = (self.newest - s) & 0xFFFFFFFF
        return d if d < 2 ** 31 else -1

    def handle(self, block: bytes) -> bytes | None:
        dev = self.dev
        try:
            raw = cobs_decode(block)
        except ValueError:
            dev.framing_errors += 1
            return None
        if len(raw) < 14:
            dev.framing_errors += 1
            return None
        dev.frames += 1
        version, flags, seq, opcode, _, length = struct.unpack_from("<BBIBBH", raw)
        if struct.unpack("<I", raw[-4:])[0] != zlib.crc32(raw[:-4]) & 0xFFFFFFFF:
            dev.crc_errors += 1
            return wire(body(seq, 0, status=BAD_CRC, flags=FLAG_RESPONSE))
        if flags & FLAG_RESPONSE:
            return None
        if version != 1:
            return wire(body(seq, 0, status=BAD_VERSION, flags=FLAG_RESPONSE))
        if length != len(raw) - 14:
            return wire(body(seq, 0, status=BAD_LENGTH, flags=FLAG_RESPONSE))
        if length > dev.max_payload:
            return wire(body(seq, 0, status=BAD_LENGTH, flags=FLAG_RESPONSE))
        if seq in self.cache:
            dev.replays += 1
            return self.cache[seq]
        if self.newest is not None and self.dev.cache_depth <= self.behind(seq) < 4 * self.dev.cache_depth:
            return wire(body(seq, opcode, status=STALE_SEQUENCE, flags=FLAG_RESPONSE))
        try:
            status, payload = execute(dev, opcode, raw[10:-4])
        except Malformed:
            status, payload = MALFORMED, b""
        except Refused as refusal:
            status, payload = refusal.status, b""
        if status != OK:
            payload = b""
        clearing = opcode == RESET and status == OK and raw[10] & 1
        if not clearing:  # a RESET that clears the counters is counted in none of them (section 5)
            dev.executed += 1
        response = wire(body(seq, opcode, payload, flags=FLAG_RESPONSE, status=status))
        if opcode == RESET and status == OK:
            if not clearing:
                dev.resets += 1
            self.cache.clear()
            self.newest = None
            return response
        behind = None if self.newest is None else self.behind(seq)
        if behind is not None and behind >= 4 * dev.cache_depth:
            self.cache.clear()  # a new host's series (section 3)
        if behind is None or behind < 0 or behind >= 4 * dev.cache_depth:
            self.newest = seq
        self.cache[seq] = wire(body(seq, opcode, payload, flags=FLAG_RESPONSE | FLAG_REPLAYED, status=status))
        for s in [s for s in self.cache if not 0 <= self.behind(s) < dev.cache_depth]:
            del self.cache[s]
        return response


def census(dev: Device) -> str:
    def counts(a):
        return f"{sum(1 for v in a if v == 1):,} once, {sum(1 for v in a if v > 1):,} more than once"
    return f"PROGRAM targets: {counts(dev.programmed)}; PROGRAM_VERIFY targets: {counts(dev.verified)}"


def serve(a):
    dev = Device(a)
    signal.signal(signal.SIGUSR1, lambda *_: print("spec-board: " + census(dev), flush=True))
    endpoint = Endpoint(dev)
    lossy = random.Random(a.seed + 1)
    server = socket.create_server(("127.0.0.1", a.port))
    print(f"spec-board: {dev.tiles}x{dev.rows}x{dev.columns}, {dev.levels} levels, max_batch {dev.max_batch}, "
          f"max_payload {dev.max_payload}, cache depth {dev.cache_depth}, on 127.0.0.1:{a.port}", flush=True)
    while True:
        conn, _ = server.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except ConnectionError:
                    break
                if not chunk:
                    break
                buf += chunk
                out = bytearray()
                while (z := buf.find(0)) >= 0:
                    block = bytes(buf[:z])
                    del buf[:z + 1]
                    if block and lossy.random() >= a.drop:
                        answer = endpoint.handle(block)
                        if answer and lossy.random() >= a.drop:
                            out += answer
                if out:
                    try:
                        conn.sendall(out)
                    except ConnectionError:
                        break


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5090)
    parser.add_argument("--geometry", default="4x256x256")
    parser.add_argument("--levels", type=int, default=16)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--max-payload", type=int, default=None, help="default: the larger of 1024 and 2 + 16 x max_batch")
    parser.add_argument("--cache-depth", type=int, default=32)
    parser.add_argument("--no-program-verify", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drop", type=float, default=0.0, help="fraction of requests and of responses lost, each way")
    args = parser.parse_args()
    args.tiles, args.rows, args.columns = (int(v) for v in args.geometry.split("x"))
    if args.max_payload is None:
        args.max_payload = max(1024, 2 + 16 * args.max_batch)
    if not 1 <= args.max_batch <= 4094 or args.max_payload < max(1024, 2 + 16 * args.max_batch) or args.max_payload > 65521:
        parser.error("section 7: max_batch 1 to 4,094, max_payload at least the larger of 1024 and 2 + 16 x max_batch and at most 65,521")
    serve(args)
