#!/usr/bin/env python3
"""Adds the protocol version 2 frames to firmware-spec/conformance-vectors.json, built from the spec's text
(section 2.2's 12-byte header, section 5's OPEN and CLOSE layouts, IDENTIFY's version 2 fields), and marks the
existing frames as version 1. Run once by hand; the tests check the file against the spec, never against this."""
import json, struct, zlib, copy, sys

PATH = sys.argv[1] if len(sys.argv) > 1 else "firmware-spec/conformance-vectors.json"

def cobs(block):
    out, group = bytearray(), bytearray()
    for b in block:
        if b == 0:
            out.append(len(group) + 1); out += group; group = bytearray(); continue
        group.append(b)
        if len(group) == 254:
            out.append(0xFF); out += group; group = bytearray()
    if group or not block or block[-1] == 0:
        out.append(len(group) + 1); out += group
    return bytes(out)

def wire(session, sequence, opcode, payload, flags, status):
    body = bytes([2, flags]) + struct.pack("<HI", session, sequence) + bytes([opcode, status]) + struct.pack("<H", len(payload)) + payload
    return cobs(body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)) + b"\0"

OPCODES = {1: "IDENTIFY", 4: "WRITE_PULSE", 5: "PROGRAM", 8: "STATUS", 13: "OPEN", 14: "CLOSE"}
STATUSES = {0: "OK", 14: "STALE_SEQUENCE", 15: "NO_SESSION", 16: "LEASE_HELD", 17: "NOT_LEASED"}

def vector(name, meaning, sequence, flags, opcode, status, payload, fields, session=0):
    return {
        "name": name, "meaning": meaning, "version": 2,
        "direction": "board-to-host" if flags & 1 else "host-to-board",
        "session": session, "sequence": sequence, "flags": flags, "opcode": opcode, "opcode_name": OPCODES[opcode],
        "status": status, "status_name": STATUSES[status], "payload_hex": payload.hex(), "fields": fields,
        "wire_hex": wire(session, sequence, opcode, payload, flags, status).hex(),
    }

doc = json.load(open(PATH))
vectors = doc["vectors"]
if any(v.get("version") == 2 for v in vectors):
    sys.exit("the file has version 2 vectors already")
for v in vectors:
    ordered = {}
    for k, val in v.items():
        ordered[k] = val
        if k == "meaning":
            ordered["version"] = 1
    v.clear(); v.update(ordered)

v1_identify = next(v for v in vectors if v["name"] == "identify-response")
info = copy.deepcopy(v1_identify["fields"]["info"])
info["protocol_version"] = 2
info.update({"max_response": 65519, "max_sessions": 4, "lease_ms": 5000, "cells_per_pulse": 1, "cells_per_read": 256})
identify_payload = bytes([2]) + bytes.fromhex(v1_identify["payload_hex"])[1:] + struct.pack("<HBIHH", 65519, 4, 5000, 1, 256)

open_request = struct.pack("<QBH", 0x0123456789ABCDEF, 1, 0)
open_response = struct.pack("<HBIHBI", 0x1234, 1, 5000, 64, 0, 0)
new = [
    vector("identify-response-v2", "IDENTIFY answered by a version 2 board, outside any session: as identify-response, and answers of at most 65,519 bytes, 4 sessions, a 5 s lease, a pulse a cell, a read a 256-cell row",
           29, 1, 1, 0, identify_payload, {"info": info}),
    vector("open-request", "OPEN outside any session, nonce 0x0123456789ABCDEF, for writing, a new session", 30, 0, 13, 0, open_request,
           {"nonce": 0x0123456789ABCDEF, "for_writing": True, "resume_session": 0}),
    vector("open-response", "OPEN answered: session 0x1234 with the write lease, lease 5,000 ms, window 64, new (newest 0)", 30, 1, 13, 0, open_response,
           {"session": 0x1234, "holds_lease": True, "lease_ms": 5000, "window": 64, "resumed": False, "newest": 0}),
    vector("session-status-request", "STATUS in session 0x1234, sequence 31", 31, 0, 8, 0, b"", {}, 0x1234),
    vector("session-replayed-response", "a repeated PROGRAM in session 0x1234 answered from its cache: REPLAYED, every cell OK", 32, 3, 5, 0,
           struct.pack("<HB", 1, 0), {"cells": ["OK"]}, 0x1234),
    vector("session-stale-refusal", "a PROGRAM in session 0x1234 whose number is 64 or more behind the session's newest: STALE_SEQUENCE, not run, however far behind",
           1, 1, 5, 14, b"", None, 0x1234),
    vector("no-session-refusal", "a PROGRAM naming session 0x0777, which the board does not hold: NO_SESSION, not run", 40, 1, 5, 15, b"", None, 0x0777),
    vector("lease-held-refusal", "OPEN for writing while session 0x1234 holds the write lease: LEASE_HELD", 41, 1, 13, 16, b"", None),
    vector("not-leased-refusal", "a WRITE_PULSE from read-only session 0x1235: NOT_LEASED, nothing pulsed", 5, 1, 4, 17, b"", None, 0x1235),
    vector("close-request", "CLOSE of session 0x1234, sequence 33", 33, 0, 14, 0, b"", {}, 0x1234),
    vector("close-response", "CLOSE done: the session and its lease are gone", 33, 1, 14, 0, b"", {}, 0x1234),
]
at = next(i for i, v in enumerate(vectors) if v["name"] == "internal-error-refusal")
vectors[at:at] = new
doc["about"] = doc["about"].rstrip() + " Each vector names its protocol version; version 2 frames carry a session (section 2.2)."
with open(PATH, "w") as f:
    json.dump(doc, f, indent=2, ensure_ascii=False)
    f.write("\n")
