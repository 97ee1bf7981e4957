# The image of every EtNik service; which one is the build argument SERVICE. The build
# context is the repository root:
#
#   docker build --build-arg SERVICE=registration -t etnik-registration .
#
# (SERVICE: registration, notification, content or reporting; docker-compose.yml and the
# Helm chart's values name the images etnik-<service>.)
#
# Layout: uv's documented pattern for a workspace. The build stage installs the locked
# third-party dependencies in a layer of their own (it changes only with uv.lock), then
# the workspace members this service needs, non-editable, so that /app/.venv holds the
# whole application (installed, not linked to a source tree) and is all that the runtime
# stage copies: no uv, no workspace checkout, no lockfile and no tests in the image.

# Both stages must use the same interpreter at the same path: the venv points at it.
ARG PYTHON_IMAGE=python:3.11.17-slim-bookworm

# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

# Which service this image runs; required.
ARG SERVICE
RUN case "${SERVICE}" in registration|notification|content|reporting) ;; \
        *) echo "build with --build-arg SERVICE=<registration|notification|content|reporting>" >&2; exit 1 ;; \
    esac

COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/

# Bytecode is compiled once here, so that a non-root process never needs to write it.
# The cache lives on a cache mount, in another filesystem than the venv: copy, not link.
# The interpreter is the base image's own; uv must not fetch another.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never

WORKDIR /app

# uv checks the lockfile against the whole workspace (`--locked`), so it needs every
# member's pyproject.toml, even those this image does not install.
COPY pyproject.toml uv.lock ./
COPY services/common/pyproject.toml services/common/
COPY services/registration/pyproject.toml services/registration/
COPY services/notification/pyproject.toml services/notification/
COPY services/content/pyproject.toml services/content/
COPY services/reporting/pyproject.toml services/reporting/
COPY deploy/local/pyproject.toml deploy/local/

# Third-party dependencies only: `--no-install-workspace` leaves out every workspace
# member (etnik-common too), whose sources are not in the image yet.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --package "etnik-${SERVICE}" --no-install-workspace

COPY services/common/src services/common/src
COPY services/${SERVICE}/src services/${SERVICE}/src

# Now etnik-common and the service itself, built as wheels into the venv.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --package "etnik-${SERVICE}"

# One name to start whichever service this is: its own console script (etnik-<service>,
# which `python -m etnik.<service>` also runs), so that ENTRYPOINT needs no shell.
RUN ln -s "etnik-${SERVICE}" /app/.venv/bin/etnik-service

# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG SERVICE
LABEL org.opencontainers.image.title="etnik-${SERVICE}" \
      org.opencontainers.image.source="https://github.com/etnik-platform/etnik"

# A fixed, unprivileged uid/gid, so that volumes and Kubernetes' runAsUser can rely on it.
RUN groupadd --system --gid 10001 etnik \
    && useradd --system --uid 10001 --gid etnik --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin etnik

# A Cyrillic TrueType font for the PDFs the services render (reports, strategies, collections).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Owned by root and so read-only for the service: the process cannot change its own code.
COPY --from=build /app/.venv /app/.venv

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /app
USER 10001:10001
EXPOSE 8000

# Liveness only (/readyz also needs Kafka and MongoDB). The slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["etnik-service"]
CMD ["--host", "0.0.0.0", "--port", "8000"]
