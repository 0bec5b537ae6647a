"""A multi-node Ray cluster on one machine, to rehearse the cluster path before renting one.

``python -m xlsearch.rehearsal`` starts a head that offers no CPUs (as cluster.yaml's) and
worker nodes with the CPUs asked for, each its own raylet (Ray's ``ray.cluster_utils.Cluster``),
prints the address to give `xlsearch run --address`, and stops them all on Ctrl-C. Nothing
else on the machine is touched: no `ray stop`, and the address it leaves for a plain
``ray.init()`` is taken back at the end.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def rehearsal_cluster(*worker_cpus: int, head_cpus: int = 0):
    """A head offering ``head_cpus`` CPUs and one worker node per entry of ``worker_cpus``; the
    dashboard (State API) is on, as on a real cluster. Yields the ``Cluster``."""
    from ray.cluster_utils import Cluster

    # The dashboard on a free port: Ray's 8265 may be another Ray's on this machine.
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": head_cpus, "include_dashboard": True,
                                                             "dashboard_port": _free_port()})
    address = cluster.address
    try:
        for cpus in worker_cpus:
            cluster.add_node(num_cpus=cpus)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()
        forget_address(address)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def forget_address(address: str) -> None:
    """Take a stopped cluster's address out of /tmp/ray/ray_current_cluster, where Ray leaves it
    for a plain ``ray.init()`` to join (and fail on) later."""
    from ray._private.utils import get_ray_address_file

    path = Path(get_ray_address_file(None))
    try:
        if path.read_text().strip() == address:
            path.unlink()
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xlsearch.rehearsal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 1], metavar="CPUS",
                        help="CPUs of each worker node (default: two nodes of 1 CPU; none: the head alone)")
    parser.add_argument("--head-cpus", type=int, default=0, help="CPUs the head offers (default 0, as cluster.yaml)")
    args = parser.parse_args(argv)
    if args.head_cpus < 0 or any(c < 1 for c in args.workers):
        print(f"xlsearch: error: --workers {args.workers} --head-cpus {args.head_cpus}: a worker node needs 1 CPU "
              "or more, the head 0 or more", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with rehearsal_cluster(*args.workers, head_cpus=args.head_cpus) as cluster:
        workers = (f"{len(args.workers)} worker nodes ({', '.join(map(str, args.workers))} CPUs)" if args.workers
                   else "no worker node")
        print(f"a head ({args.head_cpus} CPUs) and {workers} at {cluster.address}", flush=True)
        for node in cluster.worker_nodes:
            print(f"  worker node {node.node_id}: raylet pid {node.all_processes['raylet'][0].process.pid}", flush=True)
        print(f"dashboard: http://{cluster.webui_url}", flush=True)
        print(f"run a sweep on it:  xlsearch run SPEC --address {cluster.address}", flush=True)
        print("Ctrl-C stops the cluster", flush=True)
        gone: set[str] = set()
        while not stop.wait(0.5):
            for node_id, pid, code in reap_lost_nodes(cluster, gone):
                print(f"  worker node {node_id}: raylet pid {pid} exited ({code}); the node's Ray workers stop "
                      "with it", flush=True)
    return 0


def reap_lost_nodes(cluster, gone: set[str]) -> list[tuple[str, int, int]]:
    """Collect the exit of each worker node's processes that died (a raylet killed by hand, as
    docs/cluster.md's rehearsal of a lost node does); returns ``(node id, raylet pid, exit code)`` for
    each node whose raylet is newly gone.

    This process started the raylets, so a killed one stays a zombie until it is waited for; a
    Ray worker checks that its raylet lives with ``kill(pid, 0)``, which a zombie passes, so the
    lost node's Train worker went on training, orphaned, while Train restarted the trial on
    another node (found by doing docs/cluster.md's walkthrough)."""
    lost = []
    for node in cluster.worker_nodes:
        for kind, infos in node.all_processes.items():
            for info in infos:
                code = info.process.poll()  # waits for (reaps) a process that has ended
                if kind == "raylet" and code is not None and node.node_id not in gone:
                    gone.add(node.node_id)
                    lost.append((node.node_id, info.process.pid, code))
    return lost


if __name__ == "__main__":
    sys.exit(main())
