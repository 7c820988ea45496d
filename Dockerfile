# syntax=docker/dockerfile:1
# plumb as a container: `docker run IMAGE` runs the GitOps loop (`plumb run`); any other verb
# may be given instead, e.g. `docker run IMAGE plan specs/`. The image holds no moto and no
# Flask: the embedded endpoint is the `embedded` extra, which production does not install.

# -- build: the project and its runtime dependencies as wheels (with PostgreSQL's driver) --
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY controller ./controller
COPY reconcilers ./reconcilers
COPY plumb_embedded ./plumb_embedded
COPY schemas ./schemas
COPY specs ./specs
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

# -- runtime: the wheels installed, no build tools, not root ---------------------------
FROM python:3.11-slim-bookworm

# git fetches the specs; tini, as PID 1, passes SIGTERM on to plumb and reaps git's children.
# The wildcards keep each pin to the release's series of security fixes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends "git=1:2.39.*" "tini=0.19.*" \
    && rm -rf /var/lib/apt/lists/*

# The wheels come in through a mount, so they never become a layer of the image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl

RUN groupadd --system --gid 10001 plumb \
    && useradd --system --uid 10001 --gid plumb --create-home --home-dir /home/plumb \
        --shell /usr/sbin/nologin plumb \
    && install -d -o plumb -g plumb -m 0750 /var/lib/plumb

ENV PLUMB_STATE=sqlite:////var/lib/plumb/state.db \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
VOLUME ["/var/lib/plumb"]

# Numeric, so that a runtime can tell it is not root without reading /etc/passwd.
USER 10001:10001
WORKDIR /home/plumb

# Only `plumb run` serves /healthz (on PLUMB_LISTEN, 127.0.0.1:8080 unless told): the check
# asks it there and finds any other verb healthy. Standard library only, so no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "controller.loop.healthcheck"]

ENTRYPOINT ["tini", "--", "plumb"]
CMD ["run"]
