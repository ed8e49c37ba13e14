"""Seeded generators of hostile and odd input, one per class of issue 12, and the one check
every case must pass: success, or one UserError of one line that names the file.

Used by tests/test_hostile_fuzz.py (a CI-sized run) and tests/fuzz/run_hostile.py (a long
one). Everything is derived from ``random.Random(seed)``, so a failing case reproduces from
its seed and index.
"""

from __future__ import annotations

import functools
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tui.errors import UserError
from tui.package.wim import writer as wim
from tui.package.wim.imagexml import ImageInfo
from tui.package.wim.writer import write_wim

STAMP = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
PROV = "Multivariant/0/Prov"
PC_NS = "urn:schemas-Microsoft-com:Windows-ICD-Package-Config.v1.0"
SET_NS = "urn:schemas-microsoft-com:windows-provisioning"
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"]


# --- building blocks ------------------------------------------------------------------------


def master(sources: list[str]) -> bytes:
    inner = "".join(f'<ConfigurationSource Name="{s}" />' for s in sources)
    sources_xml = f"<ConfigurationSources>{inner}</ConfigurationSources>"
    return f"<MasterDatastore>{sources_xml}</MasterDatastore>".encode()


def source_index(files: list[str], source: str = "RunTime") -> bytes:
    sets = "".join(
        f'<ConfigurationSet SettingsGroup="g{i}" Data="$(_prov)\\{source}\\{f}" />'
        for i, f in enumerate(files)
    )
    sets_xml = f"<ConfigurationSets>{sets}</ConfigurationSets>"
    return f"<ConfigurationSource>{sets_xml}</ConfigurationSource>".encode()


def provxml(parms: int = 1, pad: str = "") -> bytes:
    inner = "".join(
        f'<parm name="P{i}" value="v{i}" datatype="string" />{pad}' for i in range(parms)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><wap-provisioningdoc>'
        f'<characteristic type="Policy"><characteristic type="Config">{inner}'
        "</characteristic></characteristic></wap-provisioningdoc>"
    ).encode()


def customizations(package_config: str = "", common: str = "") -> bytes:
    pc = (
        package_config
        or "<ID>{11111111-2222-3333-4444-555555555555}</ID><Name>P</Name><Rank>0</Rank>"
    )
    return (
        f'<WindowsCustomizations><PackageConfig xmlns="{PC_NS}">{pc}</PackageConfig>'
        f'<Settings xmlns="{SET_NS}"><Customizations><Common>{common}</Common>'
        "</Customizations></Settings></WindowsCustomizations>"
    ).encode()


def package_tree(
    *,
    documents: dict[str, bytes] | None = None,
    sets: list[str] | None = None,
    custom: bytes | None = None,
    extra: dict[str, bytes] | None = None,
) -> dict[str, bytes]:
    documents = {"0__A.provxml": provxml()} if documents is None else documents
    tree = {
        "Multivariant/0/MasterDatastore.xml": master(["RunTime"]),
        f"{PROV}/RunTime.xml": source_index(list(documents) if sets is None else sets),
    }
    tree |= {f"{PROV}/RunTime/{name}": data for name, data in documents.items()}
    if custom is not None:
        tree["Multivariant/0/customizations.xml"] = custom
    return tree | (extra or {})


def wim_bytes(tree: dict[str, bytes], *, compressed: bool = True) -> bytes:
    if compressed:
        return _wim_bytes(tuple(tree.items()))
    limit, wim.COMPRESS_LIMIT = wim.COMPRESS_LIMIT, -1  # every resource stored raw
    try:
        return _wim_bytes.__wrapped__(tuple(tree.items()))
    finally:
        wim.COMPRESS_LIMIT = limit


@functools.lru_cache(maxsize=256)
def _wim_bytes(items: tuple[tuple[str, bytes], ...]) -> bytes:
    # Generators draw from a few sizes, so the same tree recurs; writing (and compressing) it
    # once keeps the run about the reader, which is what is under test.
    out = io.BytesIO()
    write_wim(out, items, ImageInfo("hostile", timestamp=STAMP))
    return out.getvalue()


def encode(text: str, encoding: str) -> bytes:
    """An XML text in an encoding; its declaration says so where the encoding has no BOM."""
    if encoding in ("utf-16-le", "utf-16-be", "utf-32-le") and text.startswith("<?xml"):
        text = text.replace('encoding="utf-8"', f'encoding="{encoding[:6]}"', 1)
    return text.encode(encoding)


# --- one generator per class ------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    kind: str  # "package", "customizations", "project"
    data: bytes
    expect: str = "any"  # "ok", "error" or "any"
    tree: dict[str, bytes] | None = None  # a package's files, for mutating one of them


def deep_folders(rng: random.Random) -> Case:
    depth = rng.choice([1, 10, 63, 64, 65, 100, 399])
    path = "/".join("d" for _ in range(depth)) + "/f.txt"
    tree = package_tree(extra={path: b"x"})
    return Case("package", wim_bytes(tree), "ok" if depth < 64 else "error", tree=tree)


def repeated_sets(rng: random.Random) -> Case:
    count = rng.choice([1, 2, 500, 1999, 2000, 2001, 5999])
    tree = package_tree(sets=["0__A.provxml"] * count)
    return Case("package", wim_bytes(tree), "ok" if count <= 2000 else "error", tree=tree)


def padded_document(rng: random.Random) -> Case:
    pad = " " * rng.choice([0, 1, 1000, 7000, 40_000])
    parms = rng.choice([1, 10, 200])
    tree = package_tree(documents={"0__A.provxml": provxml(parms, pad)})
    return Case("package", wim_bytes(tree), tree=tree)


NODES = ["<!-- note -->", "<?pi data?>", "&amp;", "&#65;", "&undefined;", "<![CDATA[x]]>", "text"]


def odd_package_config(rng: random.Random) -> Case:
    inner = "".join(
        rng.choice(NODES) + rng.choice(["<Name>N</Name>", "<Rank>1</Rank>", ""])
        for _ in range(rng.randrange(1, 5))
    )
    expect = "error" if "&undefined;" in inner else "ok"
    tree = package_tree(custom=customizations(inner))
    return Case("package", wim_bytes(tree), expect, tree=tree)


def big_numbers(rng: random.Random) -> Case:
    digits = "9" * rng.choice([1, 9, 10, 19, 4300, 4301, 5000])
    if rng.random() < 0.5:
        return Case("project", f"[package]\nrank = {digits}\n".encode())
    pc = f"<Name>N</Name><Rank>{digits}</Rank>"
    return Case("customizations", customizations(pc), "ok" if len(digits) <= 9 else "error")


def deep_nesting(rng: random.Random) -> Case:
    depth = rng.choice([1, 3, 32, 33, 500, 5000])
    open_, close = rng.choice([("[", "]"), ("{a = ", "}")])
    text = "local_users = " + open_ * depth + close * depth + "\n"
    if rng.random() < 0.3:
        text = "[package]\n" + "x = " + "[" * depth + "1" + "]" * depth
    return Case("project", text.encode(), "error" if depth > 32 else "any")


def deep_xml(rng: random.Random) -> Case:
    depth = rng.choice([10, 200, 300, 1000, 5000])  # 4 more levels above <Common>'s children
    common = "<A>" * depth + "v" + "</A>" * depth
    return Case("customizations", customizations(common=common), "ok" if depth < 250 else "error")


def doctype(rng: random.Random) -> Case:
    bomb = (
        '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE WindowsCustomizations ['
        '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    )
    text = bomb + customizations(common='<X A="&d;">&d;</X>').decode()
    data = encode(text, rng.choice(ENCODINGS))
    if rng.random() < 0.5:
        return Case("customizations", data, "error")
    tree = package_tree(custom=customizations())
    target = rng.choice(list(tree))
    tree[target] = encode(
        bomb.replace("WindowsCustomizations", "x") + tree[target].decode(), rng.choice(ENCODINGS)
    )
    return Case("package", wim_bytes(tree), "error", tree=tree)


def encodings(rng: random.Random) -> Case:
    text = (
        '<?xml version="1.0" encoding="utf-8"?>'
        + customizations(
            common="<DevDetail><DNSComputerName>PC-%SERIAL%</DNSComputerName></DevDetail>"
        ).decode()
    )
    return Case("customizations", encode(text, rng.choice(ENCODINGS)), "ok")


def mutated(rng: random.Random, base: Callable[[random.Random], Case]) -> Case:
    """The case with a few bytes changed: in one of a package's files (then packed again,
    so the documents are attacked, not only the checksums) or in the file itself."""
    case = base(rng)
    if case.tree is not None and rng.random() < 0.8:
        tree = dict(case.tree)
        name = rng.choice(sorted(tree))
        tree[name] = _mutate(rng, tree[name])
        # Packed raw: what is attacked here is the document, and the Python XPRESS encoder
        # would make the run about writing. Damaged compressed data is test_wim_fuzz's part.
        return Case("package", wim_bytes(tree, compressed=False))
    return Case(case.kind, _mutate(rng, case.data))


def _mutate(rng: random.Random, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(rng.choice([1, 2, 8])):
        if not data:
            break
        at = rng.randrange(len(data))
        op = rng.randrange(3)
        if op == 0:
            data[at] ^= rng.randrange(1, 256)
        elif op == 1:
            del data[at : at + rng.randrange(1, 64)]
        else:
            data[at:at] = rng.choice([b"<", b">", b"&", b"\0", b"\xff\xfe", b"]]>", b"<!--"])
    return bytes(data)


GENERATORS: dict[str, Callable[[random.Random], Case]] = {
    "deep folders": deep_folders,
    "repeated sets": repeated_sets,
    "padded document": padded_document,
    "odd PackageConfig": odd_package_config,
    "big numbers": big_numbers,
    "deep TOML": deep_nesting,
    "deep XML": deep_xml,
    "DOCTYPE in any encoding": doctype,
    "encodings": encodings,
}
# Cheap generators run more often, so a CI run of 20,000 cases stays within seconds.
WEIGHTS = {"deep folders": 1, "repeated sets": 1, "padded document": 1, "odd PackageConfig": 2}


def cases(seed: int, count: int):
    """(generator name, Case) pairs; one in three is a byte-mutated variant."""
    rng = random.Random(seed)
    names = list(GENERATORS)
    weights = [WEIGHTS.get(n, 4) for n in names]
    for _ in range(count):
        name = rng.choices(names, weights)[0]
        if rng.random() < 1 / 3:
            yield f"{name} (mutated)", mutated(rng, GENERATORS[name])
        else:
            yield name, GENERATORS[name](rng)


# --- the check ------------------------------------------------------------------------------


def run_case(case: Case, path: Path) -> str:
    """'ok' or 'error' (a proper UserError); anything else propagates and fails the caller."""
    from tui.package.inspect import describe, read_package
    from tui.wcd.customizations import load_customizations

    path.write_bytes(case.data)
    try:
        if case.kind == "package":
            describe(read_package(path))
        elif case.kind == "project":
            from tui.project.file import load_project

            load_project(path)
        else:
            load_customizations(path)
    except UserError as exc:
        message = str(exc)
        assert str(path) in message, message
        assert "\n" not in message and message.endswith("."), message
        return "error"
    return "ok"


def check(case: Case, path: Path) -> str:
    outcome = run_case(case, path)
    assert case.expect in ("any", outcome), (case.expect, outcome)
    return outcome
