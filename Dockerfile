# The ICPC app (worker and web form) as one image; docker-compose.yml runs it twice.
# Not built or tested here (no Docker engine in this project's CI); `make run` is the tested path.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY starters ./starters
COPY web ./web
COPY procedures ./procedures
# Editable, so the procedures folder next to the code is found as in a checkout.
RUN pip install --no-cache-dir -e . \
    && useradd --create-home --uid 10001 icpc \
    && mkdir -p /data \
    && chown icpc:icpc /data

USER icpc
# The outbox ledger (which emails already went out) must survive restarts: keep /data on a volume.
ENV ICPC_OUTBOX_DB=/data/outbox.sqlite3
VOLUME ["/data"]

CMD ["icpc", "worker"]
