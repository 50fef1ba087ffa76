"""How much of the other hosts' slots a collector forwards (docs/protocol.md, Bounded inputs
and Signed slots): the arbiter's size bound for store observations (services.common.message_bounds)
counts exactly this. Pure, and light to import (the collector's slot book uses it).
"""

from __future__ import annotations

# How many incarnations of one host a reader remembers and reports; a host rarely reboots this
# often within the time the arbiter needs (T_dead).
REMEMBERED_INCARNATIONS = 4
# JSON may escape a character as \uXXXX: six bytes for each byte of a name, at worst.
ESCAPED = 6
# A signed slot record, body and signature, besides the host's name: the slot's JSON (an
# incarnation, counters, flags, a reason of a sentence, an echoed beacon) and 88 bytes of
# signature; an honest one is about 600 bytes.
_RECORD_BASE = 1024


def escaped(name: str) -> int:
    return ESCAPED * len(name.encode("utf-8"))


def record_limit(host: str) -> int:
    """The largest signed slot record (body and signature) `host` writes; a collector
    forwards none larger (services.collector.slots), so that a host writing a bloated slot
    cannot make its peers' observations oversize."""
    return _RECORD_BASE + escaped(host)


def record_size(body: str, sig: str) -> int:
    """A signed record's size as `record_limit` counts it: the bytes of body and signature."""
    return _utf8_len(body) + _utf8_len(sig)


def _utf8_len(text: str) -> int:
    # An arbiter sizes every record of every reading: ASCII text (every honest one) is as long
    # in UTF-8 as it is, without encoding a copy to find out.
    return len(text) if text.isascii() else len(text.encode())


def record_fits(host: str, body: str, sig: str) -> bool:
    """Whether a signed record is no larger than any `host` writes."""
    return record_size(body, sig) <= record_limit(host)
