#!/usr/bin/env python3
"""Checks a board against firmware-spec/protocol.md, from a host written from that document alone.

Swim's emulator and its controller share Swim.Protocol, so their tests cannot show that the two agree with
the spec rather than with each other. This host shares no code with them (standard library only) and talks
to any board over TCP or a serial line:

    python3 tools/spec-check/spec_check.py [HOST:PORT]        # default 127.0.0.1:5025
    python3 tools/spec-check/spec_check.py /dev/ttyACM0[@BAUD] # 8N1, raw; BAUD defaults to 3,000,000

It uses cells of the last tile only, programs and pulses them, and leaves them programmed. Every check
prints PASS or FAIL with what it saw; the exit code is the number of failures (0 when the board conforms).
"""

import os
import random
import socket
import struct
import sys
import time
import zlib

# Section 5 opcodes and section 6 status codes.
IDENTIFY, RESET, READ, WRITE_PULSE, PROGRAM, PROGRAM_VERIFY, BATCH, STATUS, COUNTERS, PROGRAM_LEVELS, READ_CODES, VERIFY_LEVELS = range(1, 13)
OK, BAD_CRC, BAD_LENGTH, UNKNOWN_OPCODE, BAD_VERSION, OUT_OF_RANGE, OUTSIDE_SOA, BUSY, DID_NOT_CONVERGE, \
    CELL_STUCK, BATCH_TOO_LARGE, MALFORMED, NESTED_BATCH, INTERNAL_ERROR, STALE_SEQUENCE = range(15)
FLAG_RESPONSE, FLAG_REPLAYED = 1, 2
OPEN, CLOSE = 13, 14
NO_SESSION, LEASE_HELD, NOT_LEASED = 15, 16, 17


def cobs_encode_canonical(data: bytes) -> bytes:
    """COBS as section 2.1 words it: longest groups, no empty group after a final full one."""
    out = bytearray()
    i, n = 0, len(data)
    while True:
        run = bytearray()
        while i < n and data[i] != 0 and len(run) < 254:
            run.append(data[i])
            i += 1
        if len(run) == 254:
            out += b"\xff" + run
            if i == n:
                return bytes(out)
            continue
        out += bytes([len(run) + 1]) + run
        if i == n:
            return bytes(out)
        i += 1  # the zero this group stands for
        if i == n:
            out += b"\x01"
            return bytes(out)


def cobs_decode(block: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(block):
        code = block[i]
        if code == 0 or i + code > len(block):
            raise ValueError(f"bad COBS block {block.hex()}")
        out += block[i + 1:i + code]
        i += code
        if code < 255 and i < len(block):
            out.append(0)
    return bytes(out)


def body(seq: int, opcode: int, payload: bytes = b"", flags: int = 0, status: int = 0, version: int = 1, session: int = 0) -> bytes:
    """Section 2.2: version 1's 10-byte header, or version 2's 12 bytes with the session after the flags."""
    if version == 1:
        head = struct.pack("<BBIBBH", version, flags, seq & 0xFFFFFFFF, opcode, status, len(payload)) + payload
    else:
        head = struct.pack("<BBHIBBH", version, flags, session, seq & 0xFFFFFFFF, opcode, status, len(payload)) + payload
    return head + struct.pack("<I", zlib.crc32(head) & 0xFFFFFFFF)


def wire(b: bytes) -> bytes:
    return cobs_encode_canonical(b) + b"\x00"


def cell(t, r, c) -> bytes:
    return struct.pack("<HHH", t, r, c)


def lst(items: list[bytes]) -> bytes:
    return struct.pack("<H", len(items)) + b"".join(items)


class Tcp:
    def __init__(self, host: str, port: int):
        self.sock = socket.create_connection((host, port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, data: bytes):
        self.sock.sendall(data)

    def recv(self, timeout: float) -> bytes | None:
        """Bytes that arrive within timeout; None on silence."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return None
        if not chunk:
            raise AssertionError("board closed the connection")
        return chunk


class Serial:
    """A UART or USB-CDC board (section 1.1), or the emulator's pseudo-terminal: 8N1, raw, no flow control."""

    def __init__(self, path: str, baud: int):
        import termios
        import tty
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        attrs = termios.tcgetattr(self.fd)
        speed = getattr(termios, f"B{baud}", None)
        if speed is not None:
            attrs[4] = attrs[5] = speed
        attrs[2] &= ~(termios.CRTSCTS | termios.PARENB | termios.CSTOPB)
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)

    def send(self, data: bytes):
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def recv(self, timeout: float) -> bytes | None:
        import select
        ready, _, _ = select.select([self.fd], [], [], timeout)
        return os.read(self.fd, 65536) if ready else None


class Board:
    def __init__(self, link):
        self.link = link
        self.buf = bytearray()
        self.seq = random.getrandbits(32)
        self.version = 1
        self.session = 0
        self.last_session = 0

    def next_seq(self) -> int:
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        return self.seq

    def send_raw(self, data: bytes):
        self.link.send(data)

    def receive(self, timeout: float = 3.0):
        """The next frame the board sends, decoded: (flags, seq, opcode, status, payload), or None on silence."""
        deadline = time.monotonic() + timeout
        while True:
            z = self.buf.find(0)
            if z >= 0:
                block = bytes(self.buf[:z])
                del self.buf[:z + 1]
                if not block:
                    continue
                raw = cobs_decode(block)
                if len(raw) < 14 or struct.unpack("<I", raw[-4:])[0] != zlib.crc32(raw[:-4]) & 0xFFFFFFFF:
                    raise AssertionError(f"board sent a frame that fails its CRC or is short: {block.hex()}")
                if raw[0] == 1:
                    version, flags, seq, opcode, status, length = struct.unpack("<BBIBBH", raw[:10])
                    header, self.last_session = 10, 0
                elif raw[0] == 2 and len(raw) >= 16:
                    version, flags, self.last_session, seq, opcode, status, length = struct.unpack("<BBHIBBH", raw[:12])
                    header = 12
                else:
                    raise AssertionError(f"board sent a frame of version {raw[0]}")
                if length != len(raw) - header - 4:
                    raise AssertionError(f"board sent length {length} for a {len(raw)}-byte version {version} body")
                self.last_version = version
                return flags, seq, opcode, status, raw[header:-4]
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            chunk = self.link.recv(left)
            if chunk is None:
                return None
            self.buf += chunk

    def call(self, opcode: int, payload: bytes = b"", seq: int | None = None, session: int | None = None):
        seq = self.next_seq() if seq is None else seq
        self.send_raw(wire(body(seq, opcode, payload, version=self.version, session=self.session if session is None else session)))
        while True:
            answer = self.receive()
            if answer is None:
                raise AssertionError(f"no answer to opcode {opcode} seq {seq}")
            if answer[1] == seq or (self.last_version != self.version and answer[3] == BAD_VERSION):
                return answer


FAILURES: list[str] = []


def check(name: str, ok: bool, seen: str = ""):
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  ({seen})" if seen else ""))
    if not ok:
        FAILURES.append(name)


def parse_identify(p: bytes) -> dict:
    keys = ["protocol_version", "fw_major", "fw_minor", "fw_patch"]
    d = dict(zip(keys, p[:4]))
    d["serial"] = p[4:20].rstrip(b"\x00").decode("ascii")
    (d["tiles"], d["rows"], d["columns"], d["levels"], d["g_min"], d["g_max"], d["read_resolution"],
     d["amplitude_min"], d["amplitude_max"], d["width_min"], d["width_max"], d["max_batch"], d["max_payload"],
     d["cache_depth"], d["read_ns"], d["pulse_ns"], d["verify_iteration_ns"], d["capabilities"]) = \
        struct.unpack("<HHHHfffffIIHHHIIII", p[20:20 + 58])
    n = p[78]
    d["device_model"] = p[79:79 + n].decode("utf-8")
    end = 79 + n
    if d["protocol_version"] >= 2 and len(p) >= end + 11:
        d["max_response"], d["max_sessions"], d["lease_ms"], d["cells_per_pulse"], d["cells_per_read"] = struct.unpack("<HBIHH", p[end:end + 11])
        end += 11
    d["trailing"] = len(p) - end
    return d


def parse_status(p: bytes) -> dict:
    names = ["state", "uptime_us", "device_time_ns", "frames_received", "crc_errors", "framing_errors", "replays",
             "executed", "pulses", "reads", "verify_iterations", "resets"]
    return dict(zip(names, struct.unpack("<BQQIIIIIQQQI", p)))


def floats(p: bytes) -> list[float]:
    (n,) = struct.unpack("<H", p[:2])
    return list(struct.unpack(f"<{n}f", p[2:2 + 4 * n]))


def main() -> int:
    target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:5025"
    if target.startswith("/"):
        path, _, baud = target.partition("@")
        link = Serial(path, int(baud or 3_000_000))
    else:
        host, _, port = target.rpartition(":")
        link = Tcp(host, int(port))

    # Section 2: the document's own examples, before any board is involved.
    check("2.3 CRC check value", zlib.crc32(b"123456789") == 0xCBF43926)
    check("2.1 COBS examples", [cobs_encode_canonical(bytes.fromhex(h)).hex() for h in ["00", "11220033", "11223344"]]
          == ["0101", "0311220233", "0511223344"]
          and cobs_encode_canonical(bytes(range(1, 255))) == b"\xff" + bytes(range(1, 255))
          and cobs_encode_canonical(bytes(range(1, 256))) == b"\xff" + bytes(range(1, 255)) + b"\x02\xff")
    check("2.4 IDENTIFY wire bytes", wire(body(1, IDENTIFY)).hex() == "02010201010102010101" "05b3645e7800")
    pv = lst([cell(0, 1, 2) + struct.pack("<ffH", 55.5, 1.0, 20), cell(3, 0, 511) + struct.pack("<ffH", 20.0, 0.5, 20)])
    check("2.5 PROGRAM_VERIFY wire bytes", wire(body(8, PROGRAM_VERIFY, pv)).hex() ==
          "0201020801010206022202020101020102020101035e420104803f14020301010" "3ff010103a0410101033f1405787ba4d900")

    b = Board(link)
    # Section 3.7: IDENTIFY in version 2 outside any session; a version 1 board answers BAD_VERSION in version 1.
    b.version = 2
    flags, seq, op, status, p = b.call(IDENTIFY)
    if b.last_version == 1 and status == BAD_VERSION:
        print("      the board speaks version 1: its rules are checked (section 3.7)")
        b.version = 1
        flags, seq, op, status, p = b.call(IDENTIFY)
    else:
        check("version 2: IDENTIFY outside a session is answered in session 0", b.last_session == 0 and status == OK)
    check("IDENTIFY answers OK with RESPONSE set, no REPLAYED", status == OK and flags == FLAG_RESPONSE and op == IDENTIFY)
    ident = parse_identify(p)
    print("      " + ", ".join(f"{k}={v}" for k, v in ident.items()))
    check("IDENTIFY payload has no trailing bytes", ident["trailing"] == 0, f"{ident['trailing']} trailing")
    check("IDENTIFY limits: K >= 32, max_payload >= 1024, levels >= 2, 0 <= g_min < g_max",
          ident["cache_depth"] >= 32 and ident["max_payload"] >= 1024 and ident["levels"] >= 2 and 0 <= ident["g_min"] < ident["g_max"])
    K, L = ident["cache_depth"], ident["levels"]
    if b.version == 2:
        open_sessions(b, ident)
    g_min, g_max = ident["g_min"], ident["g_max"]
    tile = ident["tiles"] - 1
    caps = ident["capabilities"]

    def status_now() -> dict:
        return parse_status(b.call(STATUS)[4])

    st = status_now()
    check("STATUS is 65 bytes and idle", st["state"] == 0, str(st))

    # PROGRAM by level and by conductance, then READ both ways.
    cells = [(tile, 0, c) for c in range(8)]
    targets = [cell(*x) + struct.pack("<Bf", 0, float(i % L)) for i, x in enumerate(cells[:4])] + \
              [cell(*x) + struct.pack("<Bf", 1, g_min + (g_max - g_min) * (0.2 + 0.1 * i)) for i, x in enumerate(cells[4:])]
    before = status_now()
    prog_seq = b.next_seq()
    flags, _, op, status, p = b.call(PROGRAM, lst(targets), seq=prog_seq)
    check("PROGRAM of 8 cells: OK, one status a cell", status == OK and len(p) == 2 + 8 and p[:2] == b"\x08\x00", p.hex())
    after = status_now()
    check("PROGRAM counted pulses in STATUS", after["pulses"] > before["pulses"], f"{before['pulses']} -> {after['pulses']}")

    # Section 3: the same sequence number again is answered from the cache, not executed.
    flags2, _, _, status2, p2 = b.call(PROGRAM, lst(targets), seq=prog_seq)
    again = status_now()
    check("a repeated sequence number is REPLAYED with the same payload", flags2 == FLAG_RESPONSE | FLAG_REPLAYED and p2 == p and status2 == status)
    check("a replay pulses nothing", again["pulses"] == after["pulses"], f"{after['pulses']} -> {again['pulses']}")
    check("STATUS counts the replay", again["replays"] == after["replays"] + 1, f"{after['replays']} -> {again['replays']}")
    _, _, _, _, p3 = b.call(PROGRAM, lst(targets[:1]), seq=prog_seq)
    check("a replay does not compare the payload", p3 == p)

    r = b.call(READ, struct.pack("<BB", 0, 4) + lst([cell(*x) for x in cells]))
    values = floats(r[4])
    r2 = b.call(READ, struct.pack("<BB", 1, 4) + cell(tile, 0, 0) + struct.pack("<HH", 1, 8))
    rect = floats(r2[4])
    check("READ list and rectangle answer 8 conductances inside the window",
          r[3] == OK and r2[3] == OK and len(values) == 8 and len(rect) == 8 and all(g_min - 1 <= v <= g_max + 1 for v in values + rect),
          " ".join(f"{v:.2f}" for v in values))
    span = g_max - g_min
    check("programmed conductances lie near their targets (within 20 % of the window)",
          all(abs(v - (g_min + (i % L) * span / (L - 1))) < 0.2 * span for i, v in enumerate(values[:4]))
          and all(abs(v - (g_min + span * (0.2 + 0.1 * i))) < 0.2 * span for i, v in enumerate(values[4:])))
    empty = b.call(READ, struct.pack("<BB", 1, 1) + cell(tile, 0, 0) + struct.pack("<HH", 0, 8))
    check("READ of an empty rectangle answers an empty list", empty[3] == OK and empty[4] == b"\x00\x00", empty[4].hex())
    check("READ with 0 samples is OUT_OF_RANGE", b.call(READ, struct.pack("<BB", 0, 0) + lst([cell(tile, 0, 0)]))[3] == OUT_OF_RANGE)
    check("READ outside the geometry is OUT_OF_RANGE",
          b.call(READ, struct.pack("<BB", 0, 1) + lst([cell(ident["tiles"], 0, 0)]))[3] == OUT_OF_RANGE)
    over = b.call(READ, struct.pack("<BB", 0, 1) + lst([cell(tile, 0, 0)] * (ident["max_batch"] + 1)))
    check("READ of max_batch + 1 cells is BATCH_TOO_LARGE (or BAD_LENGTH past max_payload)", over[3] in (BATCH_TOO_LARGE, BAD_LENGTH), str(over[3]))

    # PROGRAM refusals per cell; a refused cell is left as it was.
    bad = b.call(PROGRAM, lst([cell(tile, 1, 0) + struct.pack("<Bf", 0, 1.5), cell(tile, 1, 1) + struct.pack("<Bf", 1, float("nan")),
                               cell(tile, 1, 2) + struct.pack("<Bf", 0, float(L)), cell(tile, 1, 3) + struct.pack("<Bf", 0, 0.0)]))
    check("PROGRAM: fractional level, NaN and level L are OUT_OF_RANGE per cell; the rest programmed",
          bad[3] == OK and list(bad[4][2:5]) == [OUT_OF_RANGE] * 3 and bad[4][5] in (OK, CELL_STUCK), bad[4].hex())
    check("PROGRAM with an unknown kind is MALFORMED", b.call(PROGRAM, lst([cell(tile, 1, 0) + struct.pack("<Bf", 7, 0.0)]))[3] == MALFORMED)
    check("PROGRAM one byte short is MALFORMED", b.call(PROGRAM, lst([cell(tile, 1, 0) + struct.pack("<Bf", 0, 0.0)])[:-1])[3] == MALFORMED)

    # WRITE_PULSE: a pulse outside the safe operating area refuses the whole request, nothing pulsed.
    if ident["amplitude_max"] < 1e30:
        before = status_now()
        soa = b.call(WRITE_PULSE, lst([cell(tile, 2, 0) + struct.pack("<BfI", 0, ident["amplitude_min"], ident["width_min"]),
                                       cell(tile, 2, 1) + struct.pack("<BfI", 0, ident["amplitude_max"] * 2 + 1, ident["width_min"])]))
        check("WRITE_PULSE with one pulse outside the SOA is refused and pulses nothing",
              soa[3] == OUTSIDE_SOA and soa[4] == b"" and status_now()["pulses"] == before["pulses"])
        ok = b.call(WRITE_PULSE, lst([cell(tile, 2, 0) + struct.pack("<BfI", 0, ident["amplitude_min"], ident["width_min"])]))
        check("WRITE_PULSE inside the SOA answers the pulses applied", ok[3] == OK and ok[4] == b"\x01\x00", ok[4].hex())

    # PROGRAM_VERIFY: outcomes, and cells reported in band read in band.
    if caps & 1:
        tol = max(0.01 * span, 4 * ident["read_resolution"])
        vt = [g_min + span * f for f in (0.15, 0.35, 0.55, 0.75)]
        pv_cells = [(tile, 3, c) for c in range(4)]
        res = b.call(PROGRAM_VERIFY, lst([cell(*x) + struct.pack("<ffH", t, tol, 50) for x, t in zip(pv_cells, vt)] +
                                         [cell(tile, 3, 9) + struct.pack("<ffH", float("nan"), tol, 50)]))
        outs = [struct.unpack("<BHHf", res[4][2 + 9 * i:11 + 9 * i]) for i in range(5)]
        check("PROGRAM_VERIFY answers 9 bytes an outcome", res[3] == OK and len(res[4]) == 2 + 45, str(outs))
        check("PROGRAM_VERIFY: NaN target is OUT_OF_RANGE with 0 iterations, 0 pulses, 0 uS", outs[4] == (OUT_OF_RANGE, 0, 0, 0.0), str(outs[4]))
        check("PROGRAM_VERIFY: OK outcomes end within tolerance",
              all(abs(o[3] - t) <= tol for o, t in zip(outs, vt) if o[0] == OK) and any(o[0] == OK for o in outs[:4]))
        rb = floats(b.call(READ, struct.pack("<BB", 0, 16) + lst([cell(*x) for x in pv_cells]))[4])
        check("cells verified OK read back within a few read resolutions of the band",
              all(abs(v - t) <= tol + 4 * ident["read_resolution"] + 0.005 * span for v, t, o in zip(rb, vt, outs) if o[0] == OK),
              " ".join(f"{v:.3f}/{t:.3f}" for v, t in zip(rb, vt)))
        check("PROGRAM_VERIFY with tolerance 0 anywhere is OUT_OF_RANGE, nothing pulsed",
              b.call(PROGRAM_VERIFY, lst([cell(tile, 3, 0) + struct.pack("<ffH", vt[0], tol, 5), cell(tile, 3, 1) + struct.pack("<ffH", vt[1], 0.0, 5)]))[3] == OUT_OF_RANGE)

    else:
        check("without PROGRAM_VERIFY capability, PROGRAM_VERIFY is UNKNOWN_OPCODE",
              b.call(PROGRAM_VERIFY, lst([cell(tile, 3, 0) + struct.pack("<ffH", g_min + span / 2, span / 10, 5)]))[3] == UNKNOWN_OPCODE)

    # BATCH: sub-requests in order, each its own status; NESTED_BATCH.
    sub = lambda op, pl: struct.pack("<BH", op, len(pl)) + pl
    if caps & 8:
        bat = b.call(BATCH, struct.pack("<H", 3) + sub(STATUS, b"") + sub(READ, struct.pack("<BB", 0, 0) + lst([cell(tile, 0, 0)])) +
                     sub(READ, struct.pack("<BB", 0, 1) + lst([cell(tile, 0, 0)])))
        ok_b = bat[3] == OK and struct.unpack("<H", bat[4][:2])[0] == 3
        subs, i = [], 2
        while ok_b and i < len(bat[4]):
            op_, st_, ln = struct.unpack("<BBH", bat[4][i:i + 4])
            subs.append((op_, st_, ln))
            i += 4 + ln
        check("BATCH answers each sub-request with its own status",
              ok_b and [(s[0], s[1]) for s in subs] == [(STATUS, OK), (READ, OUT_OF_RANGE), (READ, OK)] and subs[0][2] == 65 and subs[1][2] == 0, str(subs))
        nested = b.call(BATCH, struct.pack("<H", 1) + sub(BATCH, struct.pack("<H", 0)))
        nested_status = nested[4][3] if nested[3] == OK and len(nested[4]) >= 4 else nested[3]
        check("BATCH inside BATCH is NESTED_BATCH", nested_status == NESTED_BATCH, nested[4].hex())
    else:
        check("without BATCH capability, BATCH is UNKNOWN_OPCODE", b.call(BATCH, struct.pack("<H", 1) + sub(STATUS, b""))[3] == UNKNOWN_OPCODE)

    # COUNTERS, when offered.
    if caps & 4:
        c = b.call(COUNTERS, lst([cell(tile, 0, 0), cell(tile, 5, 5)]))
        pulses0, reads0, _ = struct.unpack("<IIQ", c[4][2:18])
        pulses1, reads1, _ = struct.unpack("<IIQ", c[4][18:34])
        check("COUNTERS: a programmed and read cell has counts, an untouched one none",
              c[3] == OK and pulses0 > 0 and reads0 > 0 and pulses1 == 0 and reads1 == 0, f"{(pulses0, reads0)} {(pulses1, reads1)}")
    else:
        check("without COUNTERS capability, COUNTERS is UNKNOWN_OPCODE", b.call(COUNTERS, lst([cell(tile, 0, 0)]))[3] == UNKNOWN_OPCODE)

    # PROGRAM_LEVELS and READ_CODES, when offered: a row of 8 cells by packed levels, read back as codes.
    bits = max(1, (L - 1).bit_length())
    levels = [i % L for i in range(8)]
    packed = 0
    for i, level in enumerate(levels):
        packed |= level << (i * bits)
    packed_bytes = packed.to_bytes((8 * bits + 7) // 8, "little")
    rect = cell(tile, 8, 0) + struct.pack("<HHB", 1, 8, bits)
    if caps & 16:
        pl = b.call(PROGRAM_LEVELS, rect + packed_bytes)
        check("PROGRAM_LEVELS of a row answers its exceptions only (2 + 3 bytes each)", pl[3] == OK and (len(pl[4]) - 2) % 3 == 0
              and struct.unpack("<H", pl[4][:2])[0] * 3 + 2 == len(pl[4]), pl[4].hex())
        back = floats(b.call(READ, struct.pack("<BB", 1, 4) + cell(tile, 8, 0) + struct.pack("<HH", 1, 8))[4])
        check("PROGRAM_LEVELS lands each cell near its level (within 20 % of the window)",
              all(abs(v - (g_min + levels[i] * span / (L - 1))) < 0.2 * span for i, v in enumerate(back)), " ".join(f"{v:.2f}" for v in back))
        bad = b.call(PROGRAM_LEVELS, rect + packed_bytes[:-1] + bytes([packed_bytes[-1] | 0x80]) if (8 * bits) % 8 else rect + packed_bytes + b"\x00")
        check("PROGRAM_LEVELS with a set unused bit or a byte too many is MALFORMED", bad[3] == MALFORMED, str(bad[3]))
    else:
        check("without PROGRAM_LEVELS capability, PROGRAM_LEVELS is UNKNOWN_OPCODE", b.call(PROGRAM_LEVELS, rect + packed_bytes)[3] == UNKNOWN_OPCODE)
    codes_rect = cell(tile, 8, 0) + struct.pack("<HHB", 1, 8, 4)
    if caps & 32:
        reads = floats(b.call(READ, struct.pack("<BB", 1, 4) + cell(tile, 8, 0) + struct.pack("<HH", 1, 8))[4])
        for code_bits in (8, 16):
            rc = b.call(READ_CODES, codes_rect + bytes([code_bits]))
            ok = rc[3] == OK and len(rc[4]) == 11 + 8 * code_bits // 8
            if ok:
                zero, step, got_bits, n = struct.unpack("<ffBH", rc[4][:11])
                codes = struct.unpack(f"<{n}{'B' if code_bits == 8 else 'H'}", rc[4][11:])
                coded = [zero + c * step for c in codes]
                ok = got_bits == code_bits and n == 8 and all(abs(x - y) < max(3 * step, 0.05 * span) for x, y in zip(coded, reads))
            check(f"READ_CODES with {code_bits}-bit codes agrees with READ within the read noise", ok, rc[4].hex()[:60])
        check("READ_CODES with 12-bit codes is MALFORMED", b.call(READ_CODES, codes_rect + bytes([12]))[3] == MALFORMED)
    else:
        check("without READ_CODES capability, READ_CODES is UNKNOWN_OPCODE", b.call(READ_CODES, codes_rect + bytes([8]))[3] == UNKNOWN_OPCODE)

    # VERIFY_LEVELS, when offered: cells 0, 3 and 5 of a 2 x 4 rectangle, to levels, within a tolerance.
    tol = 0.02 * span
    sel_levels = [L - 1, 0, L // 2]
    vl_mask = (1 << 0) | (1 << 3) | (1 << 5)
    vl_packed = 0
    for i, level in enumerate(sel_levels):
        vl_packed |= level << (i * bits)
    vl = cell(tile, 10, 0) + struct.pack("<HHBfH", 2, 4, bits, tol, 30) + bytes([vl_mask]) + vl_packed.to_bytes((3 * bits + 7) // 8, "little")
    if caps & 64:
        ans = b.call(VERIFY_LEVELS, vl)
        outs = [struct.unpack("<BH", ans[4][2 + 3 * i:5 + 3 * i]) for i in range(3)] if ans[3] == OK and len(ans[4]) == 11 else []
        back = floats(b.call(READ, struct.pack("<BB", 0, 4) + lst([cell(tile, 10, 0), cell(tile, 10, 3), cell(tile, 11, 1)]))[4])
        check("VERIFY_LEVELS answers 3 bytes a selected cell, and cells OK read back near their levels",
              len(outs) == 3 and all(st != OK or abs(v - (g_min + lv * span / (L - 1))) < tol + 0.05 * span for (st, _), v, lv in zip(outs, back, sel_levels)),
              f"{outs} {back}")
        check("VERIFY_LEVELS with tolerance 0 is OUT_OF_RANGE", b.call(VERIFY_LEVELS, vl[:11] + struct.pack("<f", 0.0) + vl[15:])[3] == OUT_OF_RANGE)
        check("VERIFY_LEVELS with a byte too many is MALFORMED", b.call(VERIFY_LEVELS, vl + b"\x00")[3] == MALFORMED)
    else:
        check("without VERIFY_LEVELS capability, VERIFY_LEVELS is UNKNOWN_OPCODE", b.call(VERIFY_LEVELS, vl)[3] == UNKNOWN_OPCODE)

    check("an opcode not in the protocol is UNKNOWN_OPCODE", b.call(0x42)[3] == UNKNOWN_OPCODE)

    # Section 7: limits that are reachable and answers that fit a frame.
    check("max_payload >= 2 + 16 x max_batch and max_batch <= 4,094 (section 7)",
          ident["max_payload"] >= 2 + 16 * ident["max_batch"] and ident["max_batch"] <= 4094, f"{ident['max_batch']}, {ident['max_payload']}")
    for extra in (1, 100):
        over = ident["max_payload"] + extra
        if over > 65535 - (14 if b.version == 1 else 16):
            continue
        before = status_now()
        s = b.next_seq()
        b.send_raw(wire(body(s, PROGRAM, lst([cell(tile, 6, 0) + struct.pack("<Bf", 0, 1.0)]) + bytes(over - 13), version=b.version, session=b.session)))
        ans = b.receive(2.0)
        check(f"a payload max_payload + {extra} is BAD_LENGTH with opcode 0, not executed",
              ans is not None and ans[3] == BAD_LENGTH and ans[2] == 0 and ans[1] == s and status_now()["pulses"] == before["pulses"], str(ans))
    if caps & 8:
        mixed = b.call(BATCH, struct.pack("<H", 2) + sub(0x42, b"\x01") + sub(STATUS, b""))
        parts = []
        if mixed[3] == OK:
            i = 2
            while i < len(mixed[4]):
                op_, st_, ln = struct.unpack("<BBH", mixed[4][i:i + 4])
                parts.append((op_, st_))
                i += 4 + ln
        check("BATCH answers a part it cannot decode in its place and runs the rest", parts == [(0x42, UNKNOWN_OPCODE), (STATUS, OK)], str(parts or mixed[3]))
        # Rectangles of one row, as long as max_batch allows; enough of them that the answer passes the longest answer.
        longest = ident.get("max_response", 65521)
        width = min(ident["max_batch"], ident["columns"])
        count = (longest - 8) // (6 + 4 * width) + 1
        payload = struct.pack("<H", count + 1) + sub(WRITE_PULSE, lst([cell(tile, 7, 0) + struct.pack("<BfI", 0, 1.0, 100)]))
        payload += b"".join(sub(READ, struct.pack("<BB", 1, 1) + cell(tile, 0, 0) + struct.pack("<HH", 1, width)) for _ in range(count))
        if count + 1 <= ident["max_batch"] and len(payload) <= ident["max_payload"]:
            before = status_now()
            big = b.call(BATCH, payload)
            check(f"a BATCH whose answer would pass {longest:,} bytes is BATCH_TOO_LARGE, nothing run",
                  big[3] == BATCH_TOO_LARGE and status_now()["pulses"] == before["pulses"], f"status {big[3]}")
        else:
            print(f"skip  an answer longer than a frame: the board's limits (max_batch {ident['max_batch']}, max_payload {ident['max_payload']}) cannot ask for one")

    # Framing: damaged or foreign frames.
    s = b.next_seq()
    frame = bytearray(body(s, STATUS, version=b.version, session=b.session))
    frame[-1] ^= 0xFF
    b.send_raw(wire(bytes(frame)))
    ans = b.receive(0.5)
    check("a bad CRC is answered BAD_CRC with opcode 0, or not at all", ans is None or (ans[3] == BAD_CRC and ans[2] == 0), str(ans))
    b.send_raw(wire(body(b.next_seq(), STATUS, flags=FLAG_RESPONSE, version=b.version, session=b.session)))
    check("a frame with RESPONSE set is not answered", b.receive(0.5) is None)
    other = b.next_seq()
    b.send_raw(wire(body(other, STATUS, version=3 - b.version, session=0)))
    ans = b.receive(0.5)
    if b.version == 1:
        check("a version 2 frame is answered BAD_VERSION with opcode 0, in version 1", ans is not None and ans[3] == BAD_VERSION and ans[2] == 0
              and b.last_version == 1, str(ans))
    else:
        check("a version 1 frame is answered BAD_VERSION with opcode 0, in version 1 framing with its own number", ans is not None and ans[3] == BAD_VERSION
              and ans[2] == 0 and ans[1] == other and b.last_version == 1, str(ans))
    b.send_raw(b"\x00\x00\x05\x01\x02\x03\x00")  # empty blocks, then a block too short to be a frame
    flags, _, _, status, _ = b.call(STATUS)
    check("after empty and short blocks the board is still in step", status == OK)

    if b.version == 2:
        sessions_v2(b, ident, status_now)
        print(f"\n{len(FAILURES)} failed" + (": " + "; ".join(FAILURES) if FAILURES else ""))
        return len(FAILURES)

    # Section 3: stale and new-series numbers. The newest executed is b.seq.
    before = status_now()
    newest = b.seq
    stale = [b.call(PROGRAM, lst([cell(tile, 4, 0) + struct.pack("<Bf", 0, 1.0)]), seq=(newest - d) & 0xFFFFFFFF)[3]
             for d in (K, 4 * K - 1)]
    check("numbers K and 4K - 1 behind the newest are STALE_SEQUENCE and not executed",
          stale == [STALE_SEQUENCE] * 2 and status_now()["pulses"] == before["pulses"], str(stale))
    new_series = (newest - 4 * K - 10) & 0xFFFFFFFF
    fresh = b.call(STATUS, seq=new_series)
    check("a number 4K or more behind starts a new series and is executed", fresh[3] == OK and not fresh[0] & FLAG_REPLAYED)
    old = b.call(STATUS, seq=newest)
    check("after a new series the old newest number is far ahead and executes as new", old[3] == OK and not old[0] & FLAG_REPLAYED)
    b.seq = newest

    # RESET clears the cache: a number answered before is executed again after.
    rs = b.next_seq()
    b.call(READ, struct.pack("<BB", 0, 1) + lst([cell(tile, 0, 0)]), seq=rs)
    check("RESET answers OK", b.call(RESET, b"\x00")[3] == OK)
    after_reset = b.call(READ, struct.pack("<BB", 0, 1) + lst([cell(tile, 0, 0)]), seq=rs)
    check("after RESET a number seen before is executed, not replayed", after_reset[3] == OK and not after_reset[0] & FLAG_REPLAYED)
    st = status_now()
    check("RESET is counted in STATUS resets", st["resets"] >= 1, str(st["resets"]))
    if st["device_time_ns"] == 0:
        check("STATUS reports device time (or its nominal model)", False, "0 ns")
    check("RESET clearing the counters answers OK", b.call(RESET, b"\x01")[3] == OK)
    st = status_now()
    zeroed = {k: v for k, v in st.items() if k not in ("state", "uptime_us", "frames_received") and v != 0}
    check("after a clearing RESET every STATUS counter but uptime restarts (frames_received 1: the STATUS)",
          st["frames_received"] == 1 and not zeroed, str(st))

    print(f"\n{len(FAILURES)} failed" + (": " + "; ".join(FAILURES) if FAILURES else ""))
    return len(FAILURES)


def open_payload(nonce: int, write: bool, resume: int = 0) -> bytes:
    return struct.pack("<QBH", nonce, 1 if write else 0, resume)


def open_sessions(b: Board, ident: dict):
    """Section 3.1: OPEN outside a session, idempotent by nonce; every later call goes in the session."""
    check("version 2 IDENTIFY: max_response <= 65,519, max_sessions >= 2, lease_ms >= 1, cells_per_pulse and cells_per_read >= 1",
          ident.get("max_response", 0) <= 65519 and ident.get("max_sessions", 0) >= 2 and ident.get("lease_ms", 0) >= 1
          and ident.get("cells_per_pulse", 0) >= 1 and ident.get("cells_per_read", 0) >= 1, str(ident.get("max_sessions")))
    b.nonce = random.getrandbits(64)
    first = b.call(OPEN, open_payload(b.nonce, True), session=0)
    again = b.call(OPEN, open_payload(b.nonce, True), session=0)
    ok = first[3] == OK and len(first[4]) == 14
    sid, lease, lease_ms, window, resumed, newest = struct.unpack("<HBIHBI", first[4]) if ok else (0, 0, 0, 0, 0, 0)
    check("OPEN for writing grants a session (14 bytes: id, the lease, lease_ms, window K, not resumed, newest 0)",
          ok and sid != 0 and lease == 1 and window == ident["cache_depth"] and resumed == 0 and newest == 0, first[4].hex())
    check("a repeated OPEN (same nonce) answers the same session", again[3] == OK and again[4][:2] == first[4][:2], again[4].hex())
    b.session = sid


def sessions_v2(b: Board, ident: dict, status_now):
    """Section 3 in version 2: outside a session, stale however far, the lease, unknown sessions, reopening, RESET, CLOSE."""
    K, tile = ident["cache_depth"], ident["tiles"] - 1
    pulse = lst([cell(tile, 4, 0) + struct.pack("<BfI", 0, ident["amplitude_min"], ident["width_min"])])
    before = status_now()
    check("outside a session a WRITE_PULSE is NO_SESSION and not executed",
          b.call(WRITE_PULSE, pulse, session=0)[3] == NO_SESSION and status_now()["pulses"] == before["pulses"])
    check("a STATUS outside a session is answered", b.call(STATUS, session=0)[3] == OK)
    newest = b.seq
    before = status_now()
    stale = [b.call(WRITE_PULSE, pulse, seq=(newest - d) & 0xFFFFFFFF)[3] for d in (K, 4 * K - 1, 4 * K + 10, 100000)]
    check("numbers K, 4K - 1, 4K + 10 and 100,000 behind the newest are all STALE_SEQUENCE, none executed (no series by distance)",
          stale == [STALE_SEQUENCE] * 4 and status_now()["pulses"] == before["pulses"], str(stale))
    # A late first arrival inside the window runs once: skip a number, send the next, then the skipped one twice.
    skipped = b.next_seq()
    b.next_seq()
    b.call(STATUS)
    late = b.call(WRITE_PULSE, pulse, seq=skipped)
    repeat = b.call(WRITE_PULSE, pulse, seq=skipped)
    check("a number inside the window never seen runs when it arrives late, and is REPLAYED after",
          late[3] == OK and not late[0] & FLAG_REPLAYED and repeat[0] & FLAG_REPLAYED, f"{late[:4]} {repeat[:4]}")
    # A second host: a read-only session far ahead in its own numbers, and a would-be writer.
    monitor_nonce = random.getrandbits(64)
    mon = b.call(OPEN, open_payload(monitor_nonce, False), session=0)
    msid = struct.unpack("<H", mon[4][:2])[0] if mon[3] == OK else 0
    check("a read-only OPEN beside the writer gets its own session without the lease", mon[3] == OK and msid not in (0, b.session) and mon[4][2] == 0)
    before = status_now()
    check("a read-only session's STATUS far ahead is answered", b.call(STATUS, seq=(b.seq + 0x40000000) & 0xFFFFFFFF, session=msid)[3] == OK)
    check("a read-only session's WRITE_PULSE is NOT_LEASED and not executed",
          b.call(WRITE_PULSE, pulse, seq=(b.seq + 0x40000001) & 0xFFFFFFFF, session=msid)[3] == NOT_LEASED and status_now()["pulses"] == before["pulses"])
    check("the writer's replay is untouched by the other session", b.call(WRITE_PULSE, pulse, seq=skipped)[0] & FLAG_REPLAYED != 0)
    check("an OPEN for writing while the lease is held is LEASE_HELD", b.call(OPEN, open_payload(random.getrandbits(64), True), session=0)[3] == LEASE_HELD)
    unknown = next(s for s in range(1, 65536) if s not in (b.session, msid))
    check("a frame naming a session the board does not hold is NO_SESSION", b.call(STATUS, session=unknown)[3] == NO_SESSION)
    check("OPEN inside a session is MALFORMED", b.call(OPEN, open_payload(1, False))[3] == MALFORMED)
    newest_in_session = b.seq
    wrong = b.call(OPEN, open_payload(b.nonce ^ 1, True, b.session), session=0)
    check("reopening the session with the wrong nonce is NO_SESSION", wrong[3] == NO_SESSION)
    reopen = b.call(OPEN, open_payload(b.nonce, True, b.session), session=0)
    ok = reopen[3] == OK
    sid, lease, _, _, resumed, newest_back = struct.unpack("<HBIHBI", reopen[4]) if ok else (0, 0, 0, 0, 0, 0)
    check("reopening with the session id and nonce finds it: the lease, resumed, its newest number", ok and sid == b.session and lease == 1
          and resumed == 1 and newest_back == newest_in_session, reopen[4].hex())
    check("the reopened session answers from its cache", b.call(WRITE_PULSE, pulse, seq=skipped)[0] & FLAG_REPLAYED != 0)
    check("RESET answers OK", b.call(RESET, b"\x00")[3] == OK)
    check("RESET keeps the session's cache (a replay still REPLAYED)", b.call(WRITE_PULSE, pulse, seq=skipped)[0] & FLAG_REPLAYED != 0)
    st = status_now()
    check("RESET is counted in STATUS resets", st["resets"] >= 1, str(st["resets"]))
    check("CLOSE answers OK", b.call(CLOSE)[3] == OK)
    check("after CLOSE the session is gone (NO_SESSION)", b.call(STATUS)[3] == NO_SESSION)
    taken = b.call(OPEN, open_payload(random.getrandbits(64), True), session=0)
    check("after CLOSE the lease is free for another writer", taken[3] == OK and taken[4][2] == 1)
    if taken[3] == OK:
        b.call(CLOSE, session=struct.unpack("<H", taken[4][:2])[0])
    b.call(CLOSE, session=msid)


if __name__ == "__main__":
    sys.exit(main())
