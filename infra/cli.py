"""The ``zorgtafel`` command: migrate, seed, and run the pieces of the stack (or all of them)."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zorgtafel.settings import Settings


def cmd_migrate(_: argparse.Namespace) -> None:
    from zorgtafel.db.migrate import upgrade
    from zorgtafel.settings import get_settings

    url = get_settings().database_url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    print("database migrated", flush=True)


def cmd_seed(_: argparse.Namespace) -> None:
    from zorgtafel.accounts import seed_demo_users
    from zorgtafel.clock import utcnow
    from zorgtafel.db.session import unit_of_work
    from zorgtafel.seed import seed_demo
    from zorgtafel.settings import get_settings

    with unit_of_work() as session:
        counts = seed_demo(session, region=get_settings().region)
        users = seed_demo_users(session, get_settings().region, now=utcnow())
    print(f"demo pool: {counts}", flush=True)
    print(
        "WARNING: demo accounts with published passwords (never seed these in production): "
        + ", ".join(f"{username} / {password}" for username, _, password in users),
        flush=True,
    )


def cmd_rotate_keys(args: argparse.Namespace) -> None:
    """Re-encrypt personal data with the first key of ZT_DATA_KEYS (README: key rotation)."""
    from zorgtafel.db.session import unit_of_work
    from zorgtafel.keys import remaining_on_old_keys, rotate

    with unit_of_work() as session:
        counts = rotate(session, dry_run=args.dry_run)
        left = remaining_on_old_keys(session) if not args.dry_run else None
    for table, c in counts.items():
        old = ", ".join(f"{k}: {n}" for k, n in sorted(c.old_key_ids.items())) or "-"
        print(
            f"{table:24} rows {c.rows:6}  values {c.values:6}  plaintext {c.plaintext:5}  "
            f"old key {c.old_key:5} ({old})  reindexed {c.reindexed:5}",
            flush=True,
        )
    if args.dry_run:
        print(f"dry run: {sum(c.rotated for c in counts.values())} values would be re-encrypted", flush=True)
    else:
        print(f"rotated; values left on old keys or in plaintext: {left}", flush=True)


def cmd_serve_flows(_: argparse.Namespace) -> None:
    from flows.deployments import serve_all

    serve_all()


def cmd_api(args: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run("api.main:app", host=args.host, port=args.port, log_level="info")


def cmd_inbound(args: argparse.Namespace) -> None:
    """The organizer mailbox on its own (behind a real MTA: `--lmtp` and point a transport at it)."""
    import threading

    from notifications.inbound_server import start_inbound_server

    controller = start_inbound_server(args.host, args.port, lmtp=args.lmtp)
    print(f"{'LMTP' if args.lmtp else 'SMTP'} inbound on {args.host}:{args.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


def cmd_mail_sink(args: argparse.Namespace) -> None:
    from infra.mailsink import serve_forever

    serve_forever(Path(args.dir), args.host, args.port)


def _local_secret(path: Path, make: Callable[[], str] = lambda: secrets.token_urlsafe(48)) -> str:
    """A key of the embedded stack: made once, kept in var/ (readable by its owner only)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _local_keys(settings: Settings) -> dict[str, str]:
    """The signing key and the data key of the embedded stack, unless the environment sets them."""
    from zorgtafel.crypto import new_key_spec

    var = settings.var_dir.resolve()
    return {
        "ZT_SECRET_KEY": settings.secret_key or _local_secret(var / "secret_key"),
        "ZT_DATA_KEYS": settings.data_keys or _local_secret(var / "data_keys", new_key_spec),
    }


def cmd_run(args: argparse.Namespace) -> None:
    """Everything on embedded defaults: SQLite, a local Prefect server, a local mail sink."""
    from infra.mailsink import start_mail_sink
    from infra.processes import port_in_use, prefect_env, spawn, start_prefect_server, stop, wait_http
    from notifications.inbound_server import start_inbound_server
    from zorgtafel.settings import get_settings

    settings = get_settings()
    var = settings.var_dir.resolve()
    database_url = settings.database_url
    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:////"):
        # Children (and the flow runs they spawn) must find the same file whatever their cwd.
        database_url = "sqlite:///" + str(Path(database_url.removeprefix("sqlite:///")).resolve())
    (var / "log").mkdir(parents=True, exist_ok=True)
    ports = (
        (args.prefect_port, "Prefect"),
        (args.port, "API"),
        (settings.smtp_port, "SMTP sink"),
        (settings.inbound_port, "inbound mail"),
    )
    for port, what in ports:
        if port_in_use(port):
            sys.exit(f"port {port} ({what}) is already in use: is another `make run` still running?")

    keys = _local_keys(settings)
    os.environ.update(keys)
    get_settings.cache_clear()
    cmd_migrate(args)
    cmd_seed(args)
    env = {
        **keys,
        **prefect_env(var / "prefect", args.prefect_port),
        "ZT_DATABASE_URL": database_url,
        "ZT_SMTP_HOST": settings.smtp_host,
        "ZT_SMTP_PORT": str(settings.smtp_port),
    }
    os.environ.update(env)
    mail_dir = var / "mail"
    sink = start_mail_sink(mail_dir, settings.smtp_host, settings.smtp_port)
    inbound = start_inbound_server(settings.inbound_host, settings.inbound_port, lmtp=settings.inbound_lmtp)
    procs = []
    stopping = False

    def shutdown(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        # A second Ctrl-C (or a SIGTERM from a supervisor) must not abort the stopping half-way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nstopping ...", flush=True)
        for proc in reversed(procs):
            stop(proc)
        sink.stop()
        inbound.stop()
        print("stopped.", flush=True)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # Explicitly for SIGINT too: a shell that starts us in the background ignores it by default.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        print("starting Prefect server ...", flush=True)
        procs.append(start_prefect_server(env, args.prefect_port, var / "log" / "prefect-server.log"))
        exe = [sys.executable, "-m", "infra.cli"]
        flows = spawn([*exe, "serve-flows"], env, var / "log" / "flows.log")
        procs.append(flows)
        api = spawn([*exe, "api", "--port", str(args.port)], env, var / "log" / "api.log")
        procs.append(api)
        wait_http(f"http://127.0.0.1:{args.port}/api/health", timeout=60, proc=api)
        print(
            "\nzorgtafel is running:\n"
            f"  API docs     http://127.0.0.1:{args.port}/docs\n"
            f"  Prefect UI   http://127.0.0.1:{args.prefect_port}\n"
            f"  SMTP sink    {settings.smtp_host}:{settings.smtp_port} -> {mail_dir}/\n"
            f"  replies      {'LMTP' if settings.inbound_lmtp else 'SMTP'} {settings.inbound_host}:"
            f"{settings.inbound_port} (the organizer mailbox: send iTIP replies here)\n"
            f"  database     {database_url}\n"
            f"  logs         {var / 'log'}/\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        restarts = 0
        while True:
            time.sleep(1)
            if api.poll() is not None or procs[0].poll() is not None:
                sys.exit("a component stopped unexpectedly; see the logs in var/log/")
            if flows.poll() is not None:
                # The flow server can exit when the API blips at its start (stack-notes): restart it.
                restarts += 1
                if restarts > 5:
                    sys.exit("the flow server keeps stopping; see var/log/flows.log")
                print("flow server stopped; restarting", flush=True)
                procs.remove(flows)
                flows = spawn([*exe, "serve-flows"], env, var / "log" / "flows.log")
                procs.insert(1, flows)
    except KeyboardInterrupt:
        pass
    finally:
        shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="zorgtafel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("seed", help="load the demo pool (idempotent)").set_defaults(func=cmd_seed)
    sub.add_parser("serve-flows", help="serve the Prefect deployments").set_defaults(func=cmd_serve_flows)
    p_rot = sub.add_parser("rotate-keys", help="re-encrypt personal data with the first key of ZT_DATA_KEYS")
    p_rot.add_argument("--dry-run", action="store_true", help="count, change nothing")
    p_rot.set_defaults(func=cmd_rotate_keys)
    p_api = sub.add_parser("api", help="run the HTTP API")
    p_api.add_argument("--host", default="127.0.0.1")
    p_api.add_argument("--port", type=int, default=8000)
    p_api.set_defaults(func=cmd_api)
    p_sink = sub.add_parser("mail-sink", help="run the local SMTP sink")
    p_sink.add_argument("--dir", default="var/mail")
    p_sink.add_argument("--host", default="127.0.0.1")
    p_sink.add_argument("--port", type=int, default=8025)
    p_sink.set_defaults(func=cmd_mail_sink)
    p_in = sub.add_parser("inbound", help="run the organizer mailbox (iTIP replies) on its own")
    p_in.add_argument("--host", default="127.0.0.1")
    p_in.add_argument("--port", type=int, default=8026)
    p_in.add_argument("--lmtp", action="store_true", help="speak LMTP (for delivery from an MTA)")
    p_in.set_defaults(func=cmd_inbound)
    p_run = sub.add_parser("run", help="run the whole stack on embedded defaults")
    p_run.add_argument("--port", type=int, default=8000)
    p_run.add_argument("--prefect-port", type=int, default=4200)
    p_run.set_defaults(func=cmd_run)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
