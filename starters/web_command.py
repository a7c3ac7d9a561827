"""``icpc web``: the managers' web form, served by uvicorn.

Connects to Temporal with the same settings as the worker (``workers.connection``).
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("web", help="serve the managers' web form")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from web.app import create_app
    from web.settings import load_settings
    from workers.connection import connect

    app = create_app(load_settings(), connect)
    print(f"ICPC web form on http://{args.host}:{args.port}", flush=True)
    # No access log: a request line carries nothing sensitive here, but keep logs minimal.
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, proxy_headers=False)
    return 0
