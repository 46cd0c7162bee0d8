"""A real Ray cluster of several nodes on this machine, on loopback, for tests and benchmarks:
`ray start --head` and `ray start --address` for the others, stopped by killing exactly the
processes of its own temp dir (never `ray stop`, which would stop every Ray cluster of the machine).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.ports import free_port

RAY = str(Path(sys.executable).parent / "ray")
OBJECT_STORE_BYTES = 100 * 2**20


@dataclass
class LocalCluster:
    address: str  # HOST:PORT of the head
    node_ports: list[int]  # each node's raylet port, head first
    temp: Path

    def processes(self) -> list[int]:
        """The cluster's processes: those whose command line names its temp dir, and their
        descendants (Ray's workers and agents retitle themselves `ray::…`)."""
        parents: dict[int, int] = {}
        mine: set[int] = set()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if str(self.temp) in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    mine.add(int(proc.name))
            except (OSError, IndexError, ValueError):
                continue
        while children := {pid for pid, parent in parents.items() if parent in mine} - mine:
            mine |= children
        return sorted(mine)

    def raylet(self, node: int) -> list[int]:
        """The raylet of node `node` (0: the head)."""
        flag = f"--node_manager_port={self.node_ports[node]}".encode()
        return [pid for pid in self.processes() if flag in _cmdline(pid)]

    def stop(self) -> None:
        kill(self.processes())
        shutil.rmtree(self.temp, ignore_errors=True)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def running(pid: int) -> bool:
    """Alive: neither gone nor a zombie nobody reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@contextlib.contextmanager
def local_cluster(nodes: int = 2, cpus_per_node: int = 1) -> Iterator[LocalCluster]:
    """`nodes` Ray nodes of `cpus_per_node` CPUs each; the driver (this process) is disconnected and
    every process of the cluster killed on the way out."""
    temp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Ray's socket paths must fit
    ports = [free_port() for _ in range(nodes)]
    cluster = LocalCluster(f"127.0.0.1:{free_port()}", ports, temp)
    common = ["--num-cpus", str(cpus_per_node), "--object-store-memory", str(OBJECT_STORE_BYTES),
              "--disable-usage-stats", "--node-ip-address", "127.0.0.1"]  # fmt: skip
    try:
        subprocess.run([RAY, "start", "--head", "--port", cluster.address.rsplit(":", 1)[1],
                        "--temp-dir", str(temp), "--include-dashboard=false",
                        "--node-manager-port", str(ports[0]), *common],
                       check=True, capture_output=True)  # fmt: skip
        for port in ports[1:]:
            subprocess.run([RAY, "start", "--address", cluster.address, "--node-manager-port", str(port),
                            *common], check=True, capture_output=True)  # fmt: skip
        yield cluster
    finally:
        if "ray" in sys.modules:
            sys.modules["ray"].shutdown()
        cluster.stop()
