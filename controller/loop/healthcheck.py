"""The container image's health check: `python -m controller.loop.healthcheck`.

One image serves every verb, but only `plumb run` (without `--once`) serves /healthz, so
the check first finds what the container runs: PID 1's command line (`tini -- plumb ...`
in the image), else the first plumb process under /proc (a shell may have started it).
Anything but a serving `plumb run` is healthy by definition, exit 0; a serving loop is
asked for http://<listen>/healthz and is unhealthy, exit 1, unless it answers 200.

Standard library only, and nothing of the engine: Docker runs this every 30 seconds.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path

DEFAULT_LISTEN = "127.0.0.1:8080"
# plumb's global options that take no value; every other one takes one (--state URL, ...).
_GLOBAL_FLAGS = frozenset({"--help", "--version"})
# A server bound to every address is reached, from inside its container, on loopback.
_ANY_HOST = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}
# What click reads as true in a flag's environment variable.
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})


def plumb_args(cmdline: list[str]) -> list[str] | None:
    """plumb's own arguments in a process's command line, or None when it does not run
    plumb: `tini -- plumb run`, `python /usr/local/bin/plumb run`, `python -m controller run`."""
    for i, word in enumerate(cmdline):
        if os.path.basename(word) == "plumb":
            return cmdline[i + 1 :]
        if word == "-m" and cmdline[i + 1 : i + 2] == ["controller"]:
            return cmdline[i + 2 :]
    return None


def subcommand(args: list[str]) -> tuple[str | None, list[str]]:
    """The command plumb was given and its arguments, past plumb's global options."""
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            return (args[i + 1], args[i + 2 :]) if i + 1 < len(args) else (None, [])
        if not word.startswith("-"):
            return word, args[i + 1 :]
        i += 1 if "=" in word or word in _GLOBAL_FLAGS else 2
    return None, []


def health_url(args: list[str], env: Mapping[str, str]) -> str | None:
    """Where this plumb answers /healthz, or None when it serves no endpoint."""
    command, rest = subcommand(args)
    if command != "run" or "--once" in rest or env.get("PLUMB_ONCE", "").lower() in _TRUE:
        return None
    listen = env.get("PLUMB_LISTEN") or DEFAULT_LISTEN
    for i, word in enumerate(rest):  # a flag given wins over the environment, as in click
        if word == "--listen" and i + 1 < len(rest):
            listen = rest[i + 1]
        elif word.startswith("--listen="):
            listen = word.partition("=")[2]
    host, _, port = listen.rpartition(":")
    return f"http://{_ANY_HOST.get(host, host)}:{port}/healthz"


def _cmdline(path: Path) -> list[str] | None:
    try:
        raw = path.read_bytes()
    except OSError:  # the process ended, or is not ours to read
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def find_plumb(proc: Path = Path("/proc")) -> list[str] | None:
    """The container's plumb arguments: PID 1's, else the lowest-numbered plumb process's."""
    try:
        pids = [int(entry.name) for entry in proc.iterdir() if entry.name.isdigit()]
    except OSError:  # no /proc: not a Linux container, so nothing to probe
        return None
    for pid in sorted(pids, key=lambda pid: (pid != 1, pid)):
        args = plumb_args(_cmdline(proc / str(pid) / "cmdline") or [])
        if args is not None:
            return args
    return None


def check(url: str, timeout: float = 4.0) -> str | None:
    """None when the endpoint answers 200, else why not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return None if response.status == 200 else f"{url} answered {response.status}"
    except (OSError, ValueError) as err:  # HTTPError and URLError are OSErrors
        return f"{url}: {err}"


def main(proc: Path = Path("/proc"), env: Mapping[str, str] = os.environ) -> int:
    args = find_plumb(proc)
    url = health_url(args, env) if args is not None else None
    if url is None:
        print("healthy: this container serves no health endpoint (not `plumb run`)")
        return 0
    problem = check(url)
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    print(f"healthy: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
