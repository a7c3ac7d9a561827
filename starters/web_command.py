"""``icpc web``: the managers' web form, served by uvicorn.

Connects to Temporal with the same settings as the worker (``runtime.connection``). Serves
``/healthz`` and ``/readyz`` on the form's port (:mod:`web.health`), and its request metrics
on a bind of their own when ``--metrics-bind`` (or ``ICPC_WEB_METRICS_BIND``) names one: never
on the form's port, so the form's users cannot read them.

Serves HTTPS itself with ``--tls-certfile``/``--tls-keyfile``; bound to an address other than
loopback without them, it warns in one line at start (:func:`transport_warning`). It refuses to
start without a payload key (:mod:`runtime.encryption`).
"""

from __future__ import annotations

import argparse
import os
import sys
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
    p.add_argument(
        "--tls-certfile",
        default=os.environ.get("ICPC_WEB_TLS_CERT") or None,
        metavar="PEM",
        help="serve HTTPS with this certificate (chain) file (ICPC_WEB_TLS_CERT)",
    )
    p.add_argument(
        "--tls-keyfile",
        default=os.environ.get("ICPC_WEB_TLS_KEY") or None,
        metavar="PEM",
        help="the certificate's private key file (ICPC_WEB_TLS_KEY)",
    )
    p.set_defaults(handler=run)


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def transport_warning(host: str, tls: bool, trusted_proxy: bool) -> str | None:
    """One line when the form would be reachable from the network in clear text."""
    if tls or _loopback(host):
        return None
    if trusted_proxy:
        return (
            f"icpc web: warning: listening on {host} without TLS; ICPC_TRUSTED_PROXY says a"
            " proxy serves HTTPS in front, so let nothing but that proxy reach this port"
        )
    return (
        f"icpc web: warning: listening on {host} without TLS: passwords, sessions and case data"
        " cross the network in clear; use --tls-certfile/--tls-keyfile, or serve it behind"
        " a TLS proxy (ICPC_TRUSTED_PROXY=1)"
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from runtime.connection import TemporalSettingsError, connect, connect_config, data_converter
    from runtime.encryption import PayloadKeyError
    from starters.cli import CommandError
    from starters.file_modes import check_at_start
    from web.app import create_app
    from web.settings import load_settings
    from workers.health import parse_bind

    check_at_start("web")  # var/ and the product's files: owner-only
    if bool(args.tls_certfile) != bool(args.tls_keyfile):
        raise CommandError("--tls-certfile and --tls-keyfile go together")
    tls = bool(args.tls_certfile)
    try:
        settings = load_settings()
    except ValueError as error:
        raise CommandError(str(error)) from None
    warning = transport_warning(args.host, tls, settings.trusted_proxy)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    try:
        data_converter()  # no key, no form: decisions would reach Temporal in clear
        connect_config()  # the form connects on first use: check its TLS files at start
    except (PayloadKeyError, TemporalSettingsError) as error:
        raise CommandError(str(error)) from None
    try:
        app = create_app(settings, connect)
    except ValueError as error:  # a setting the form cannot use (ICPC_CODEC_CORS_ORIGINS)
        raise CommandError(str(error)) from None
    if args.metrics_bind:
        try:
            host, port = parse_bind(args.metrics_bind)
            app.state.metrics.serve(host, port)
        except (ValueError, OSError) as error:
            raise CommandError(f"--metrics-bind: {error}") from None
        print(f"ICPC web metrics on http://{args.metrics_bind}/metrics", flush=True)
    print(f"ICPC web form on {'https' if tls else 'http'}://{args.host}:{args.port}", flush=True)
    # No access log: a request line carries nothing sensitive here, but keep logs minimal.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        proxy_headers=False,  # X-Forwarded-*: only as ICPC_TRUSTED_PROXY allows (web.auth)
        ssl_certfile=args.tls_certfile,
        ssl_keyfile=args.tls_keyfile,
    )
    return 0
