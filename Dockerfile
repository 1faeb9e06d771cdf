# One image for every service, channel worker, the console and the CLI; the command
# picks which one runs (`billing serve customers`, `billing worker email`, ...).
#
# The base is a build argument: the official Python image by default (for users with a
# registry); on a machine without one, a Debian base built here:
#   docker build --build-arg BASE_IMAGE=local/debian:bookworm -t local/billing:dev .
# (deploy/containers/images.sh does that). Either way the Python is the base's own:
# uv never downloads one.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ARG UV_VERSION=0.13.9
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PYTHON=python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

# Python 3.11 and uv. The official image has its Python; a bare Debian gets Debian's.
# A TLS-inspecting proxy's CA may be handed in as the build secret `cacert` (a CA
# bundle); it is used for the downloads and never stored in the image.
RUN --mount=type=secret,id=cacert \
    set -eu; \
    if ! command -v python3.11 >/dev/null; then \
      printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright' \
        'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/locale/*' >/etc/dpkg/dpkg.cfg.d/slim; \
      apt-get update -qq; \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        python3.11 python3.11-venv ca-certificates >/dev/null; \
      apt-get clean; rm -rf /var/lib/apt/lists/*; \
    fi; \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi; \
    python3.11 -m venv /opt/uv; \
    /opt/uv/bin/pip install --quiet --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"; \
    ln -s /opt/uv/bin/uv /usr/local/bin/uv; \
    groupadd --gid 10001 billing; \
    useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin billing

WORKDIR /app
# The dependencies first, from the lock file alone: a code change does not download them again.
COPY pyproject.toml uv.lock ./
COPY testkit/pyproject.toml ./testkit/
RUN --mount=type=secret,id=cacert --mount=type=cache,target=/root/.cache/uv \
    if [ -s /run/secrets/cacert ]; then export SSL_CERT_FILE=/run/secrets/cacert; fi; \
    uv sync --frozen --no-dev --no-install-project --no-install-workspace

# Then the project itself (the workspace member `testkit/` must be there for the lock
# to hold; it is not installed: it is a dev dependency and an extra).
COPY README.md ./
COPY testkit ./testkit
COPY shared ./shared
COPY services ./services
COPY billing_cli ./billing_cli
COPY console ./console
COPY demo ./demo
# The topic declarations: `billing topics apply --file deploy/topics/<environment>.toml`
# (compose's migrate one-shot, a k8s Job) and the services' start check read them.
COPY deploy/topics ./deploy/topics
RUN --mount=type=secret,id=cacert --mount=type=cache,target=/root/.cache/uv \
    if [ -s /run/secrets/cacert ]; then export SSL_CERT_FILE=/run/secrets/cacert; fi; \
    uv sync --frozen --no-dev

# A place the CLI may keep local state in (console secrets when not given by environment).
RUN mkdir -p /app/.local && chown 10001:10001 /app/.local
ENV PATH="/app/.venv/bin:$PATH"
USER 10001:10001
EXPOSE 8000
CMD ["billing", "--help"]
