# The image every node of a Caviar cluster runs: Python 3.11 with Ray (dashboard included)
# and this project installed.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    MKL_NUM_THREADS=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY orchestrator ./orchestrator
COPY workers ./workers
COPY caviar ./caviar
COPY caviar_common ./caviar_common
RUN pip install . && mkdir -p /app/runs

# Results of submitted sweeps land here; docker-compose mounts it from the host.
ENV CAVIAR_RESULTS=/app/runs
