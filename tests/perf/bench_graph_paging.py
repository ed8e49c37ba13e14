"""Overhead of the Graph client: a paged read through ``GraphClient.get_all`` ÷ the same GETs
with a bare ``requests.Session``, against the local HTTPS fake Graph, in one process.

    python tests/perf/bench_graph_paging.py [--items 5000] [--page 100] [--rounds 5]

Prints both times (best of --rounds) and the ratio. Target: <= 1.2x (the client adds only
retry bookkeeping, the cancel check and the next-link host check).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import requests  # noqa: E402
from fakes.graph import fake_graph  # noqa: E402

from tui.entra.graph import GraphClient, connect  # noqa: E402
from tui.entra.signin import CancelToken  # noqa: E402


def bare(session: requests.Session, url: str, token: str) -> int:
    count = 0
    while url:
        page = session.get(url, headers={"Authorization": f"Bearer {token}"}).json()
        count += len(page["value"])
        url = page.get("@odata.nextLink")
    return count


def best(rounds: int, run) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, fake_graph(Path(tmp)) as fake:
        os.environ["REQUESTS_CA_BUNDLE"] = str(fake.ca_bundle)  # it overrides session.verify
        fake.tenant.skus = [{"id": str(n), "servicePlans": []} for n in range(args.items)]
        fake.tenant.page_size = args.page
        signed_in = connect(
            fake.sign_in_config(),
            ["User.Read"],
            graph_url=fake.graph_url,
            on_event=lambda event: None,
            cancel=CancelToken(),
        )
        signed_in.get("/me")
        token = fake.identity.calls_to("/v1.0/me")[-1].bearer
        session = requests.Session()
        client = GraphClient(fake.graph_url, token, session=session)
        url = f"{fake.graph_url}/v1.0/subscribedSkus"
        assert bare(session, url, token) == len(client.get_all("/subscribedSkus")) == args.items
        baseline = best(args.rounds, lambda: bare(session, url, token))
        ours = best(args.rounds, lambda: client.get_all("/subscribedSkus"))
        signed_in.close()
    pages = -(-args.items // args.page)
    print(f"{args.items} items in {pages} pages, best of {args.rounds}")
    print(f"bare requests.Session: {baseline * 1000:.3f} ms")
    print(f"GraphClient.get_all:   {ours * 1000:.3f} ms")
    print(f"ratio: {ours / baseline:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
