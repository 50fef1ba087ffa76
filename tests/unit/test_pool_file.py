"""Pool files (spec/pool-format.md): every validation rule gives one line naming the offending
item; YAML and JSON mean the same; defaults, derived quantities and the dump round trip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from schemas import Pool, PoolError, dump_pool, load_pool, parse_pool, pool_to_data

EXAMPLE = Path(__file__).resolve().parents[2] / "schemas" / "examples" / "lab.yaml"

HOSTS = "hosts: [{name: a, memory_mib: 1000}, {name: b, memory_mib: 1000}]\n"


def vm(**keys: object) -> str:
    """A pool of hosts a and b with one VM 'v' (memory 100 on a unless overridden)."""
    fields = {"name": "v", "memory_mib": 100, "host": "a", **keys}
    return "name: p\n" + HOSTS + "vms: [" + json.dumps(fields) + "]\n"


# (case, pool text, file name, fragments the one-line message must contain)
BAD_POOLS = [
    (
        "duplicate host",
        "name: p\nhosts: [{name: a, memory_mib: 1}, {name: a, memory_mib: 2}]\n",
        "p.yaml",
        ["duplicate host name 'a'"],
    ),
    (
        "duplicate VM",
        "name: p\n" + HOSTS + "vms: [{name: v, memory_mib: 1}, {name: v, memory_mib: 2}]\n",
        "p.yaml",
        ["duplicate VM name 'v'"],
    ),
    ("VM on unknown host", vm(host="zz"), "p.yaml", ["'v'", "'zz'", "not in the pool"]),
    (
        "zero host memory",
        "name: p\nhosts: [{name: a, memory_mib: 0}]\n",
        "p.yaml",
        ["hosts[0] 'a'.memory_mib", "greater than 0"],
    ),
    (
        "negative host memory",
        "name: p\nhosts: [{name: a, memory_mib: -5}]\n",
        "p.yaml",
        ["hosts[0] 'a'.memory_mib"],
    ),
    (
        "negative reservation",
        "name: p\nhosts: [{name: a, memory_mib: 5, reserved_mib: -1}]\n",
        "p.yaml",
        ["hosts[0] 'a'.reserved_mib"],
    ),
    ("zero VM memory", vm(memory_mib=0), "p.yaml", ["vms[0] 'v'.memory_mib", "greater than 0"]),
    ("negative VM memory", vm(memory_mib=-1), "p.yaml", ["vms[0] 'v'.memory_mib"]),
    ("negative overhead", vm(memory_overhead_mib=-1), "p.yaml", ["vms[0] 'v'.memory_overhead_mib"]),
    ("memory not an integer", vm(memory_mib="100"), "p.yaml", ["vms[0] 'v'.memory_mib", "integer"]),
    ("negative order", vm(order=-1), "p.yaml", ["vms[0] 'v'.order"]),
    ("negative delay", vm(start_delay_s=-0.5), "p.yaml", ["vms[0] 'v'.start_delay_s"]),
    (
        "unknown priority",
        vm(ha_restart_priority="always"),
        "p.yaml",
        ["vms[0] 'v'.ha_restart_priority", "'restart'", "'best-effort'"],
    ),
    (
        "host over capacity",
        vm(memory_mib=990, memory_overhead_mib=20),
        "p.yaml",
        ["host 'a'", "over capacity", "10 MiB more"],
    ),
    (
        "reservation above memory",
        "name: p\nhosts: [{name: a, memory_mib: 5, reserved_mib: 9}]\n",
        "p.yaml",
        ["host 'a'", "reserves 9 MiB", "only 5 MiB"],
    ),
    (
        "restart but not agile",
        vm(ha_restart_priority="restart", agile=False),
        "p.yaml",
        ["VM 'v'", "agile: false", "cannot be protected"],
    ),
    (
        "ntol negative",
        "name: p\nha: {host_failures_to_tolerate: -1}\n" + HOSTS,
        "p.yaml",
        ["host_failures_to_tolerate is -1", "between 0 and 1"],
    ),
    (
        "ntol as many as hosts",
        "name: p\nha: {host_failures_to_tolerate: 2}\n" + HOSTS,
        "p.yaml",
        ["host_failures_to_tolerate is 2", "between 0 and 1"],
    ),
    (
        "infinite timeout",
        "name: p\nha: {timeout_s: .inf}\n" + HOSTS,
        "p.yaml",
        ["ha.timeout_s", "finite"],
    ),
    ("invalid YAML", "name: p\nhosts: [{name: a\n", "p.yaml", ["not valid YAML", "line 3"]),
    ("tab in YAML", "name: p\n\thosts: []\n", "p.yaml", ["not valid YAML", "line 2"]),
    (
        "invalid JSON",
        '{"name": "p",\n "hosts": [}',
        "p.json",
        ["not valid JSON", "line 2", "column"],
    ),
    ("unknown top-level key", "name: p\nhostz: []\n" + HOSTS, "p.yaml", ["unknown key 'hostz'"]),
    ("unknown key in ha", "name: p\nha: {ntol: 1}\n" + HOSTS, "p.yaml", ["ha: unknown key 'ntol'"]),
    (
        "unknown key in a host",
        "name: p\nhosts: [{name: a, memory_mib: 1, ram: 2}]\n",
        "p.yaml",
        ["hosts[0] 'a': unknown key 'ram'"],
    ),
    ("unknown key in a VM", vm(hots="a"), "p.yaml", ["vms[0] 'v': unknown key 'hots'"]),
    (
        "typo of a required host key",
        "name: p\nhosts: [{name: a, memry_mib: 1000}]\n",
        "p.yaml",
        ["hosts[0] 'a': unknown key 'memry_mib' (did you mean 'memory_mib'?)"],
    ),
    (
        "typo of a top-level key",
        "name: p\nhots: [{name: a, memory_mib: 1000}]\n",
        "p.yaml",
        ["unknown key 'hots' (did you mean 'hosts'?)"],
    ),
    (
        "typo of an ha key",
        "name: p\nha: {host_failures_to_tolerat: 1}\n" + HOSTS,
        "p.yaml",
        ["ha: unknown key 'host_failures_to_tolerat' (did you mean 'host_failures_to_tolerate'?)"],
    ),
    (
        "typo of a VM key",
        vm(ha_restart_prority="restart"),
        "p.yaml",
        ["unknown key 'ha_restart_prority' (did you mean 'ha_restart_priority'?)"],
    ),
    (
        "duplicate top-level YAML key",
        "name: p\nname: q\n" + HOSTS,
        "p.yaml",
        ["not valid YAML", "duplicate key 'name'", "line 2"],
    ),
    (
        "duplicate nested YAML key",
        "name: p\nhosts: [{name: a, memory_mib: 1, memory_mib: 2}]\n",
        "p.yaml",
        ["duplicate key 'memory_mib'"],
    ),
    (
        "duplicate JSON key",
        '{"name": "p", "hosts": [{"name": "a", "memory_mib": 1, "name": "b"}]}',
        "p.json",
        ["not valid JSON", "duplicate key 'name'"],
    ),
    (
        "unhashable YAML key",
        "name: p\n? [a, b]\n: 1\n" + HOSTS,
        "p.yaml",
        ["not valid YAML", "unhashable key"],
    ),
    ("not a mapping", "- a\n- b\n", "p.yaml", ["must be a mapping"]),
    ("empty file", "", "p.yaml", ["must be a mapping"]),
    ("no hosts", "name: p\nhosts: []\n", "p.yaml", ["hosts: a pool needs at least one host"]),
    ("hosts not a list", "name: p\nhosts: {name: a}\n", "p.yaml", ["hosts: must be a list"]),
    ("missing name", HOSTS, "p.yaml", ["name: required key is missing"]),
    (
        "libvirt xml outside the store",
        "name: p\n" + HOSTS + "vms: [{name: v, memory_mib: 1, libvirt: {xml: ../etc/x.xml}}]\n",
        "p.yaml",
        ["vms[0] 'v'.libvirt.xml", "inside the store"],
    ),
    (
        "libvirt vcpus zero",
        "name: p\n" + HOSTS + "vms: [{name: v, memory_mib: 1, libvirt: {vcpus: 0}}]\n",
        "p.yaml",
        ["vms[0] 'v'.libvirt.vcpus", "greater than or equal to 1"],
    ),
    (
        "VM without a name",
        "name: p\n" + HOSTS + "vms: [{memory_mib: 1}]\n",
        "p.yaml",
        ["vms[0].name: required key is missing"],
    ),
]


@pytest.mark.parametrize(
    ("text", "source", "fragments"),
    [pytest.param(t, s, f, id=case) for case, t, s, f in BAD_POOLS],
)
def test_each_rule_is_one_line_naming_the_offending_item(
    text: str, source: str, fragments: list[str]
) -> None:
    """A pool breaking a rule raises PoolError: one line, the file named first, and the
    offending item (host, VM, key, line) named in it."""
    with pytest.raises(PoolError) as caught:
        parse_pool(text, source)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{source}: ")
    for fragment in fragments:
        assert fragment in message


def test_yaml_and_json_parse_to_the_same_pool() -> None:
    """The same content written as YAML and as JSON gives equal models."""
    from_yaml = load_pool(EXAMPLE)
    as_json = json.dumps(pool_to_data(from_yaml))
    assert parse_pool(as_json, "lab.json") == from_yaml
    assert from_yaml.name == "Lab pool"
    assert from_yaml.host_names == ("lab1", "lab2")


def test_defaults() -> None:
    """Keys left out take the defaults of the spec: HA on, ntol 0, timeout 30 s, no
    reservation or overhead, unprotected, order and delay 0, agile, no group, halted."""
    pool = parse_pool(
        "name: p\nhosts: [{name: a, memory_mib: 10}]\nvms: [{name: v, memory_mib: 1}]\n"
    )
    assert (pool.ha.enabled, pool.ha.host_failures_to_tolerate, pool.ha.timeout_s) == (True, 0, 30)
    assert pool.ha.heartbeat_store is None
    assert pool.hosts[0].reserved_mib == 0
    v = pool.vms[0]
    assert (v.memory_overhead_mib, v.ha_restart_priority, v.order, v.start_delay_s) == (0, "", 0, 0)
    assert (v.agile, v.anti_affinity, v.host) == (True, None, None)
    assert (v.running, v.protected) == (False, False)


def test_footprint_and_free_memory() -> None:
    """footprint = memory + overhead; free = memory - reserved - footprints of the VMs running
    there (halted VMs take nothing)."""
    pool = parse_pool(
        "name: p\n"
        "hosts: [{name: a, memory_mib: 1000, reserved_mib: 100}, {name: b, memory_mib: 500}]\n"
        "vms:\n"
        "  - {name: v1, memory_mib: 200, memory_overhead_mib: 10, host: a}\n"
        "  - {name: v2, memory_mib: 300, host: a}\n"
        "  - {name: halted, memory_mib: 400}\n"
    )
    assert pool.vm("v1").footprint == 210
    assert pool.free_mib("a") == 1000 - 100 - 210 - 300
    assert pool.free_mib("b") == 500
    assert [v.name for v in pool.vms_on("a")] == ["v1", "v2"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_round_trip(fmt: str) -> None:
    """dump_pool then parse_pool gives the same pool, defaults left out of the text."""
    pool = parse_pool(
        "name: p\nha: {host_failures_to_tolerate: 1, timeout_s: 12.5, heartbeat_store: /srv}\n"
        + HOSTS
        + "vms:\n"
        "  - {name: web 1, memory_mib: 64, memory_overhead_mib: 2, host: a, order: 3,\n"
        "     ha_restart_priority: restart, start_delay_s: 1.5, anti_affinity: web}\n"
        "  - {name: local, memory_mib: 32, host: b, agile: false,\n"
        "     ha_restart_priority: best-effort}\n"
        "  - {name: halted, memory_mib: 16}\n"
    )
    text = dump_pool(pool, fmt)
    assert parse_pool(text, f"p.{fmt}") == pool
    assert "reserved_mib" not in text  # a default: left out
    assert "order" in text and "anti_affinity" in text


def test_example_pool_round_trips() -> None:
    """The shipped lab pool survives a dump and a parse unchanged."""
    pool = load_pool(EXAMPLE)
    assert parse_pool(dump_pool(pool), "lab.yaml") == pool


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    """A pool file that cannot be read is a one-line PoolError naming the path."""
    path = tmp_path / "nope.yaml"
    with pytest.raises(PoolError) as caught:
        load_pool(path)
    assert str(caught.value).startswith(f"{path}: cannot read the pool file")
    assert "\n" not in str(caught.value)


def test_an_unknown_key_like_no_key_has_no_suggestion() -> None:
    """`ram` is like no key of a host: the message says it is unknown and suggests nothing
    (a wrong suggestion would mislead more than none)."""
    with pytest.raises(PoolError) as caught:
        parse_pool("name: p\nhosts: [{name: a, memory_mib: 1, ram: 2}]\n", "p.yaml")
    assert str(caught.value) == "p.yaml: hosts[0] 'a': unknown key 'ram'"


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    """A pool file holding bytes that are not UTF-8 (a Latin-1 export, a binary) is a
    one-line PoolError naming the file, the byte and where it is, not a UnicodeDecodeError."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: Caf\u00e9 pool\n".encode("latin-1") + HOSTS.encode())
    with pytest.raises(PoolError) as caught:
        load_pool(path)
    assert str(caught.value) == f"{path}: not UTF-8 text (byte 0xe9 at offset 9)"


def test_pool_models_are_immutable() -> None:
    """A validated pool cannot be changed in place (changes go through new, validated pools)."""
    pool = load_pool(EXAMPLE)
    with pytest.raises(ValueError):
        pool.hosts[0].memory_mib = 1  # type: ignore[misc]
    assert isinstance(pool, Pool)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (
            "name: p\nhosts: [{name: a, memory_mib: 1}]\n"
            "vms: [{name: v, memory_mib: 5, host: a}]\n",
            "over.yaml",
        ),
        ('{"name": "p", "hosts": [', "broken.json"),
        (b"name: \xff\xfe pool\n" + HOSTS.encode(), "binary.yaml"),
        ("name: p\nhosts: [{name: a, memry_mib: 1000}]\n", "typo.yaml"),
    ],
)
def test_cli_bad_pool_exits_2_with_one_stderr_line(
    tmp_path: Path, text: str | bytes, name: str
) -> None:
    """`haplan plan` on a bad pool file: exit 2, exactly one line on stderr naming the file,
    no traceback, nothing on stdout."""
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "plan", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"haplan: error: {path}: ")
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
