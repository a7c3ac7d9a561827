"""Where one web-form decision POST spends its time, step by step.

The real app (uvicorn on loopback) and a real ``icpc worker`` on a Temporal dev server, with a
throwaway case record (SQLite) and a mail sink, as ``benchmarks/side_by_side.py`` sets them up.
A signed-in team manager posts N ``reassign_worker`` decisions, a few on each case; each step
of the request is timed where it runs (this process wraps the app's own functions), and
printed as its median beside the whole POST's and the bare update's of the same server.

    .venv/bin/python benchmarks/web_decision.py [--posts N] [--per-case M]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import inspect
import os
import shutil
import statistics
import sys
import tempfile
import time as clock
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import side_by_side as sbs  # noqa: E402  (after the path is set)

STEPS: dict[str, list[float]] = defaultdict(list)

# (module, attribute, step name): the app's own functions, wrapped to time each call.
WRAPPED = (
    ("web.transport", "TransportSecurity.__call__", "the app, from its outermost middleware"),
    ("web.metrics", "MetricsMiddleware.__call__", "the metrics middleware, all within"),
    ("web.app", "SessionsAndHeaders.__call__", "the session middleware, all within"),
    ("web.app", "sessions_and_headers", "the session middleware, all within"),  # the older app
    ("web.auth", "SessionKeeper.open", "session and person loaded"),
    ("web.auth", "SessionKeeper.close", "session kept"),
    ("web.case_pages", "take", "the decision page's own work, all within"),
    ("web.case_pages", "may_take", "may take it (state, scope, roles)"),
    ("web.case_pages", "load_state", "  case state queried"),
    ("web.case_pages", "recorded_scope", "  case scope read (beside the query)"),
    ("web.case_pages", "case_scope", "  scope settled (the record's, or asked)"),
    ("web.case_pages", "reassign_options", "form's people listed (a page shown again)"),
    ("web.case_pages", "picked_person", "  picked person read (beside the query)"),
    ("web.case_pages", "reassigned_contact", "picked person checked"),
    ("web.case_pages", "usable_roles", "  roles open on the path now"),
    ("web.case_pages", "parse", "form parsed into a decision"),
    ("web.case_pages", "send_decision", "decision sent (update)"),
    ("web.case_pages", "audit", "audit row written"),
)


def wrap(module_name: str, attribute: str, step: str) -> None:
    module = sys.modules.get(module_name) or __import__(module_name, fromlist=["_"])
    owner: Any = module
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part, None)
    original: Callable[..., Any] | None = getattr(owner, name, None)
    if original is None:  # a step this version of the app does not have
        return

    async def timed(*args: Any, **kwargs: Any) -> Any:
        began = clock.perf_counter()
        assert original is not None
        try:
            return await original(*args, **kwargs)
        finally:
            STEPS[step].append((clock.perf_counter() - began) * 1000)

    def timed_sync(*args: Any, **kwargs: Any) -> Any:
        began = clock.perf_counter()
        assert original is not None
        try:
            return original(*args, **kwargs)
        finally:
            STEPS[step].append((clock.perf_counter() - began) * 1000)

    setattr(owner, name, timed if inspect.iscoroutinefunction(original) else timed_sync)


async def run(posts: int, per_case: int) -> None:
    from temporalio.testing import WorkflowEnvironment

    from contracts.search_attributes import ALL as SEARCH_ATTRIBUTES
    from records.database import upgrade
    from runtime.connection import data_converter
    from runtime.log_setup import configure_logging

    os.environ["ICPC_LOG_LEVEL"] = "WARNING"
    configure_logging()
    for module_name, attribute, step in WRAPPED:
        wrap(module_name, attribute, step)
    folder = Path(tempfile.mkdtemp(prefix="icpc-web-bench-"))
    record = f"sqlite:///{folder / 'records.sqlite3'}"
    os.environ.update(
        ICPC_DATABASE_URL=record,
        ICPC_PAYLOAD_KEY=base64.b64encode(os.urandom(32)).decode(),
        ICPC_PAYLOAD_KEY_FILE="",
    )
    upgrade(record)
    sbs.add_people(record)
    with sbs.mail_sink() as smtp_port:
        os.environ.update(ICPC_SMTP_HOST="127.0.0.1", ICPC_SMTP_PORT=str(smtp_port))
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(sbs.DEV_SERVER),
            data_converter=data_converter(),
            search_attributes=SEARCH_ATTRIBUTES,
            ui=False,
        )
        async with env:
            client = env.client
            product = sbs.ProductSide(client, f"bench-web-{uuid.uuid4().hex[:6]}")
            bare = sbs.BareSide(client, f"bench-bare-{uuid.uuid4().hex[:6]}")
            child_env = {
                **os.environ,
                "TEMPORAL_ADDRESS": client.service_client.config.target_host,
                "PYTHONPATH": str(HERE.parent),
            }
            product.worker = sbs.WorkerProcess(
                "product",
                [str(sbs.ICPC), "worker", "--task-queue", product.task_queue],
                folder / "product-worker.log",
            )
            bare.worker = sbs.WorkerProcess(
                "bare",
                [sys.executable, str(HERE / "bare_case.py"), "--task-queue", bare.task_queue],
                folder / "bare-worker.log",
            )
            for side in (product, bare):
                side.worker.start(child_env)
            try:
                await bare.start_many(0, 1)
                cases = max(1, posts // per_case)
                await product.start_many(0, cases)
                await product.until_set_up(cases)
                await bare.until_set_up(1)
                whole: list[float] = []
                cpu_times: list[float] = []  # this process's: the app, its clients, httpx
                bare_times: list[float] = []
                async with sbs.web_form(client, record) as base:
                    import httpx

                    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                        web = sbs.WebSession(http)
                        await web.sign_in(sbs.MANAGER)
                        STEPS.clear()
                        for n in range(posts):
                            began = clock.perf_counter()
                            await bare.decide(bare.started[0], n)
                            bare_times.append((clock.perf_counter() - began) * 1000)
                            began, cpu = clock.perf_counter(), clock.process_time()
                            await web.decide(product.started[n % cases], n)
                            whole.append((clock.perf_counter() - began) * 1000)
                            cpu_times.append((clock.process_time() - cpu) * 1000)
                query_times = await state_query_split(client, product.started[0], posts)
            finally:
                for side in (product, bare):
                    side.worker.stop()
    shutil.rmtree(folder, ignore_errors=True)
    print(f"{posts} decision POSTs (ms, median):")
    print(f"  {'the whole POST, as the browser waits':<40} {statistics.median(whole):7.2f}")
    print(f"  {'CPU of this process during it':<40} {statistics.median(cpu_times):7.2f}")
    for step in dict.fromkeys(step for _, _, step in WRAPPED):
        if STEPS[step]:
            print(f"  {step:<40} {statistics.median(STEPS[step]):7.2f}  x{len(STEPS[step])}")
    print(f"  {'the bare update, for scale':<40} {statistics.median(bare_times):7.2f}")
    whole_query, raw_query = query_times
    print("the case's state query alone (ms, median):")
    print(f"  {'as the form makes it (into CaseState)':<40} {whole_query:7.2f}")
    print(f"  {'the same payload left raw (decrypted only)':<40} {raw_query:7.2f}")


async def state_query_split(client: Any, case_id: str, runs: int) -> tuple[float, float]:
    """The state query as the form makes it, and the same query with its answer left as a raw
    payload: the difference is turning the case's state (procedure and calendar included)
    into pydantic models, on the web form's own CPU."""
    from temporalio.common import RawValue

    from contracts.case import STATE_QUERY
    from contracts.client import read_case

    handle = client.get_workflow_handle(case_id)
    whole: list[float] = []
    raw: list[float] = []
    for _ in range(runs):
        began = clock.perf_counter()
        await read_case(client, case_id)
        whole.append((clock.perf_counter() - began) * 1000)
        began = clock.perf_counter()
        await handle.query(STATE_QUERY, result_type=RawValue)
        raw.append((clock.perf_counter() - began) * 1000)
    return statistics.median(whole), statistics.median(raw)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--per-case", type=int, default=5, help="decisions on each case")
    args = parser.parse_args()
    asyncio.run(run(args.posts, args.per_case))
