"""Several server processes on one port, each accepting on its own socket (SO_REUSEPORT).

uvicorn's `--workers` shares one listening socket between its processes, and whichever process wakes
first accepts every connection waiting: 32 connections opened at once all went to one of two
processes, which then served alone (2,213 searches/s against 3,869 when they happened to spread).
Here each process binds its own socket with SO_REUSEPORT and the kernel spreads new connections over
them. uvicorn's supervisor still starts, health-checks and restarts the processes; only the socket
each one listens on differs. Where the platform has no SO_REUSEPORT, uvicorn's shared socket is used.
"""

from __future__ import annotations

import socket

from uvicorn import Config
from uvicorn.supervisors import multiprocess


class PortInUseError(OSError):
    """Another program listens on the port."""


def own_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) that shares the port with the other processes' sockets."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def check_port_free(host: str, port: int) -> None:
    """PortInUseError when something listens there: sockets that all set SO_REUSEPORT share a port
    silently, so a second `audiotag serve` on the port would otherwise take half the traffic."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise PortInUseError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


class OwnSocketProcess(multiprocess.Process):
    """A uvicorn worker process that listens on its own SO_REUSEPORT socket."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover (child)
        super().target([own_socket(self.config.host, self.config.port)])


def run_processes(config: Config) -> None:
    """Run `config.workers` server processes until interrupted, each on its own socket."""
    if not hasattr(socket, "SO_REUSEPORT"):
        multiprocess.Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    check_port_free(config.host, config.port)
    multiprocess.Process = OwnSocketProcess  # the supervisor makes (and remakes) its workers by this name
    multiprocess.Multiprocess(config, sockets=[]).run()
