"""The deployment's NATS limits are one list: deploy/nats/node.conf says what
services.deploy.natsconf says (and `haplan up`'s server gets from it)."""

from __future__ import annotations

import re
from pathlib import Path

from services.deploy.natsconf import JETSTREAM_LIMITS, LIMITS

NODE_CONF = Path(__file__).resolve().parents[3] / "deploy" / "nats" / "node.conf"


def test_node_conf_has_the_limits_of_the_code() -> None:
    """Every `key: value` limit of node.conf (outside comments) is the code's, and the code
    has no limit node.conf lacks."""
    text = "\n".join(line.split("#", 1)[0] for line in NODE_CONF.read_text().splitlines())
    found = dict(re.findall(r"^\s*(max_\w+):\s*(\S+)\s*$", text, re.MULTILINE))
    assert found == dict(LIMITS) | dict(JETSTREAM_LIMITS)
