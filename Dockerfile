# The ICPC app as one image; docker-compose.yml runs it three times (migrate, worker, web form).
# Not built or tested here (no Docker engine in this project's CI); `make run` is the tested path.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
# Every package in pyproject's [tool.setuptools] packages (tests/test_compose_file.py checks).
COPY domain ./domain
COPY contracts ./contracts
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY starters ./starters
COPY web ./web
COPY records ./records
COPY procedures ./procedures
COPY simulation ./simulation
COPY runtime ./runtime
# Editable, so data files beside the code (the procedures' TOML, the record's migration
# templates) are found as in a checkout.
# Bytecode compiled here, once: PYTHONDONTWRITEBYTECODE (above) and a read-only /app mean none
# would ever be written, so every import, the workflow sandbox's re-import of a case's workflow
# module for each new case included, would compile from source (benchmarks/side_by_side.py).
RUN pip install --no-cache-dir -e . \
    && python -m compileall -q -j 0 . \
    && useradd --create-home --uid 10001 icpc

USER icpc
# The case record (and the email ledger) is a database named by ICPC_DATABASE_URL, set by the
# environment: docker-compose.yml points it at its PostgreSQL service, and its `migrate` service
# runs `icpc db upgrade` before the worker and the web form start.

CMD ["icpc", "worker"]
