# kg as a service: the web UI and JSON API over a Neo4j graph (see docker-compose.yml).
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    KG_DB=/data/kg

WORKDIR /app

# torch first, pinned and CPU-only: a bare requirement would pull a multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Only what the package needs (no tests, docs or local databases in the image).
COPY pyproject.toml README.md ./
COPY kg/ kg/
COPY ingest/ ingest/
COPY embed/ embed/
COPY search/ search/
COPY web/ web/
RUN pip install . \
 && useradd --create-home --uid 10001 kg \
 && mkdir -p /data/kg && chown -R kg:kg /data

USER kg
VOLUME ["/data/kg"]
EXPOSE 5000

ENTRYPOINT ["kg"]
# KG_TOKEN must be set: serving beyond 127.0.0.1 requires an access token.
CMD ["--backend", "neo4j", "serve", "--host", "0.0.0.0", "--port", "5000"]
