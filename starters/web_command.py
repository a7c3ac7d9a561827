"""``icpc web``: the managers' web form, served by uvicorn.

Connects to Temporal with the same settings as the worker (``workers.connection``). Serves
``/healthz`` and ``/readyz`` on the form's port (:mod:`web.health`), and its request metrics
on a bind of their own when ``--metrics-bind`` (or ``ICPC_WEB_METRICS_BIND``) names one: never
on the form's port, so the form's users cannot read them.
"""

from __future__ import annotations

import argparse
import os
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("web", help="serve the managers' web form")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    p.add_argument(
        "--metrics-bind",
        default=os.environ.get("ICPC_WEB_METRICS_BIND") or None,
        metavar="HOST:PORT",
        help="serve Prometheus /metrics on this address, such as 127.0.0.1:9465"
        " (ICPC_WEB_METRICS_BIND; off by default)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from starters.cli import CommandError
    from web.app import create_app
    from web.settings import load_settings
    from workers.connection import connect
    from workers.health import parse_bind

    app = create_app(load_settings(), connect)
    if args.metrics_bind:
        try:
            host, port = parse_bind(args.metrics_bind)
            app.state.metrics.serve(host, port)
        except (ValueError, OSError) as error:
            raise CommandError(f"--metrics-bind: {error}") from None
        print(f"ICPC web metrics on http://{args.metrics_bind}/metrics", flush=True)
    print(f"ICPC web form on http://{args.host}:{args.port}", flush=True)
    # No access log: a request line carries nothing sensitive here, but keep logs minimal.
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, proxy_headers=False)
    return 0
