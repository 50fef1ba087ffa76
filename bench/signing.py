"""What signed slots cost per heartbeat (docs/protocol.md, Signed slots): a collector signs its
slot once per interval (and writes body + signature + checksum), the arbiter verifies a record
only when a reading claims a host fenced or restarted. Prints microseconds per operation.

    .venv/bin/python bench/signing.py
"""

from __future__ import annotations

import time

from schemas.messages import Beacon
from schemas.slot import Slot
from services.common.heartbeat_store import decode_signed, encode_slot
from services.common.signing import HostSigner, signature_holds, verified_slot

ROUNDS = 2000


def _per_op_us(fn: object, rounds: int = ROUNDS) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / rounds * 1e6


def main() -> None:
    signer = HostSigner.generate()
    slot = Slot(
        host="lab1", incarnation="3f1c2a9e-6a2b-4e0b-9b1e-7d2f0c4a1b2c", seq=123456,
        uptime_s=3600.5, lease_ok=True, store_ok=True,
        beacon=Beacon(leader="arbiter-lab2", term=42, seq=98765),
    )  # fmt: skip
    body = slot.model_dump_json()
    record = signer.sign(body)
    raw = encode_slot(slot, signer)
    figures = {
        "encode unsigned slot": _per_op_us(lambda: encode_slot(slot)),
        "encode signed slot (sign)": _per_op_us(lambda: encode_slot(slot, signer)),
        "decode signed slot (checksum, no verify)": _per_op_us(lambda: decode_signed(raw)),
        # The signature check itself: verified_slot caches its answer per record, so a
        # record forwarded again (or a flood of one forgery) costs a dictionary lookup.
        "verify a record (arbiter, first time)": _per_op_us(
            lambda: signature_holds(signer.public, record)
        ),
        "verify the same record again (cached)": _per_op_us(
            lambda: verified_slot(signer.public, "lab1", record)
        ),
    }
    for what, us in figures.items():
        print(f"{what:45s} {us:8.1f} us")
    extra = figures["encode signed slot (sign)"] - figures["encode unsigned slot"]
    print(f"signing adds {extra:.1f} us per heartbeat to the collector; "
          f"{len(raw) - len(encode_slot(slot))} bytes per slot file")  # fmt: skip


if __name__ == "__main__":
    main()
