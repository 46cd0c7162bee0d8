"""wrk, the load generator of the benchmarks: one thread of C, so the load takes little of the
server's cores. Lua scripts for the searches (rotating queries) and the multipart uploads, a run, and
its report read, with the service's own time (Server-Timing) collected at one connection.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

WRK_SEARCH = """\
local queries = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "%s?q=" .. queries[i %% #queries + 1])
end
"""
WRK_UPLOAD = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=wrkboundary"
local f = io.open("%s", "rb")
local clip = f:read("*a")
f:close()
wrk.body = "--wrkboundary\\r\\nContent-Disposition: form-data; name=\\"file\\"; filename=\\"clip.wav\\"\\r\\n"
  .. "Content-Type: audio/wav\\r\\n\\r\\n" .. clip .. "\\r\\n--wrkboundary--\\r\\n"
"""
WRK_SERVER_TIMING = """
local out = nil
response = function(status, headers, body)
  local t = headers["server-timing"] or headers["Server-Timing"]
  local d = t and string.match(t, "dur=([%%d%%.]+)")
  if d then
    if not out then out = io.open("%s", "a"); out:setvbuf("line") end
    out:write(d, "\\n")
  end
end
"""


def wrk_load(
    url: str,
    method: str,
    connections: int,
    seconds: float,
    tmp: Path,
    clip_path: Path | None = None,
    queries: tuple[str, ...] | list[str] = (),
) -> dict:
    """`wrk -t1` for `seconds` (`search` rotates `queries`, `tags` uploads `clip_path`): requests,
    failures (non-2xx and socket errors), requests/s, client p50/p99 (ms); at one connection also the
    p50 of the service's own time (Server-Timing)."""
    script = tmp / f"{method}-{connections}.lua"
    timings = tmp / f"{method}-{connections}.timings"
    path = "/" + url.split("/", 3)[3]
    lua = ""
    if method == "search":
        lua = WRK_SEARCH % (", ".join(f'"{q.replace(" ", "+")}"' for q in queries), path)
    elif method == "tags":
        lua = WRK_UPLOAD % clip_path
    if connections == 1:
        lua += WRK_SERVER_TIMING % timings
    script.write_text(lua)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(script),
         url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    server = [float(x) for x in timings.read_text().split()] if timings.exists() else []
    return {**parse_wrk(out), "server_p50": float(np.median(server)) if server else None}


def parse_wrk(out: str) -> dict:
    """wrk's report (with --latency): requests, failures (non-2xx and socket errors), requests/s,
    latency p50/p99 in ms."""
    unit_ms = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    found = re.findall(r"^\s+(50|99)\.?0*%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    lat = {q: float(v) * unit_ms[u] for q, v, u in found}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "n": int(re.search(r"(\d+) requests in", out).group(1)),
        "errors": (int(bad.group(1)) if bad else 0) + (sum(map(int, sockets.groups())) if sockets else 0),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": lat.get("50"),
        "p99": lat.get("99"),
    }
