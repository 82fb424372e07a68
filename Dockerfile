# Production image for the API and the worker (same image, different command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md alembic.ini ./
COPY service ./service
COPY migrations ./migrations
COPY examples ./examples
# A plain (non-editable) install puts `service` into site-packages; alembic.ini, migrations/ and examples/ stay
# here in /app, which BAUSTELLEN_PROJECT_DIR names (the commands also find them in their working directory).
RUN pip install .
ENV BAUSTELLEN_PROJECT_DIR=/app
RUN useradd --system --home /app baustellen && chown -R baustellen /app
USER baustellen
EXPOSE 8000
CMD ["baustellen", "serve", "--host", "0.0.0.0", "--port", "8000"]
