# deeplite in a container: its tests and benchmarks on a laptop (CPU) or on a GPU host (CUDA variant).
#
#   docker build -t deeplite .                     CPU image; its default command runs the test suite
#   docker build --target test .                   the same, and runs the main job and the tests while building
#   CUDA variant: add --build-arg BASE_IMAGE=nvidia/cuda:13.0.1-runtime-ubuntu24.04
#                     --build-arg DEEPLITE_EXTRA=cuda13     (README.md, "Docker", has the run lines)
#
# Stages: base (Python and a virtual environment, on any Debian or Ubuntu base)
#      -> build   (compiles the C++ extension deeplite._C into a wheel; has the compiler)
#      -> runtime (installs that wheel with its test extra; no compiler, non-root user)
#      -> test    (runs `deeplite train` and pytest at build time; CI builds this target)
#
# One install path, the README's. `pip install ".[test]"` is two steps inside pip: build a wheel of "."
# through the PEP 517 backend that pyproject.toml names, then install that wheel with its [test] extra.
# This file runs exactly those two steps, split across two stages so the compiler stays out of the
# runtime image: `pip wheel .` in build, `pip install "<that wheel>[test]"` in runtime. Nothing here
# repeats a requirement, an extra or a build flag: all of them come from pyproject.toml and setup.py.
# The image's default command is the second half of the README's test command, `pytest`, run from a
# copy of tests/ (and pyproject.toml, which holds pytest's settings) against the installed package.
# The CUDA variant differs from the CPU image only in BASE_IMAGE and the CuPy extra (DEEPLITE_EXTRA).

# Pinned base; CI passes a locally built Debian stand-in, since it cannot pull from Docker Hub.
ARG BASE_IMAGE=python:3.12.10-slim-bookworm

FROM ${BASE_IMAGE} AS base
# Later stages inherit this shell; their RUN lines keep to POSIX sh all the same.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Everything deeplite needs goes into a virtual environment, so the same steps work on python:*-slim
# (Python in /usr/local), on Debian's and Ubuntu's own python3 (PEP 668 "externally managed"), and on
# nvidia/cuda bases (no Python at all, installed below).
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Distribution packages are not version-pinned: the pinned base image fixes the distribution release,
# and exact Debian/Ubuntu package versions vanish from the mirrors at each point release.
# hadolint ignore=DL3008
RUN if ! python3 -c "import ensurepip" 2>/dev/null; then \
        apt-get update \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && python3 -m venv "$VIRTUAL_ENV"

FROM base AS build
# A CA bundle for pip behind a TLS-intercepting proxy (CI here): the file is bind-mounted into the build
# (podman build -v HOST_BUNDLE:/etc/host-ca.crt:ro), never copied into a layer. Unset: pip's own CAs.
ARG PIP_CERT
# The extension needs g++ and Python's headers: install whichever the base lacks.
# hadolint ignore=DL3008
RUN set --; \
    command -v g++ >/dev/null || set -- "$@" g++; \
    python3 -c "import os, sys, sysconfig; sys.exit(not os.path.isfile(os.path.join(sysconfig.get_path('include'), 'Python.h')))" \
        || set -- "$@" python3-dev; \
    if [ "$#" -gt 0 ]; then \
        apt-get update \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" \
        && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src
COPY . .
# Step one of `pip install .`: the wheel, built in an isolated environment from pyproject.toml's
# build requirements. --no-deps: the dependencies are installed with the wheel, in runtime.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && ls -l /wheels

FROM base AS runtime
ARG PIP_CERT
# Empty for the CPU image; cuda12 or cuda13 (a CuPy extra in pyproject.toml) for the CUDA variant.
ARG DEEPLITE_EXTRA=""
RUN groupadd --gid 10001 deeplite \
    && useradd --create-home --no-log-init --uid 10001 --gid 10001 --shell /bin/bash deeplite \
    && install -d -o deeplite -g deeplite /workspace
# deeplite._C is built with OpenMP: its runtime library, which slim and CUDA runtime bases lack.
# hadolint ignore=DL3008
RUN if ! python3 -c "import ctypes; ctypes.CDLL('libgomp.so.1')" 2>/dev/null; then \
        apt-get update \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libgomp1 \
        && rm -rf /var/lib/apt/lists/*; \
    fi
# Step two of `pip install ".[test]"`: the wheel from build, with the test extra (and the CuPy extra
# for the CUDA variant). setup.py lets a failed compile install without deeplite._C (the numpy backend
# then serves): an image is built to test the C++ backend too, so a missing or unloadable _C fails here.
# The wheel comes over by COPY rather than `RUN --mount=type=bind,from=build`: podman 4.x loses such a
# mount when the build stage is cached (podman#16281) and can reuse the RUN after the wheel changed
# (buildah#6609). It is deleted after the install; its layer costs the wheel's size, well under 1 MB.
# DL3013 (pin versions in pip) does not apply: this is the project's own wheel, just built; the
# version ranges of its dependencies live in pyproject.toml, the one place the README's install reads.
COPY --from=build /wheels/ /tmp/wheels/
# hadolint ignore=DL3013
RUN set -- /tmp/wheels/deeplite-*.whl \
    && if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then echo "expected one deeplite wheel, found: $*" >&2; exit 1; fi \
    && pip install --no-cache-dir "$1[test${DEEPLITE_EXTRA:+,$DEEPLITE_EXTRA}]" \
    && rm -rf /tmp/wheels \
    && if ! python -c "import deeplite._C"; then \
        cat "$VIRTUAL_ENV"/lib/python3*/site-packages/deeplite/_C_build_error.txt 2>/dev/null; exit 1; \
    fi
# Only what the tests and benchmarks read: not the source package, so that `import deeplite` in pytest
# finds the installed wheel (with its compiled deeplite._C), never a source tree without it.
WORKDIR /workspace
COPY --chown=deeplite:deeplite pyproject.toml ./
COPY --chown=deeplite:deeplite tests/ tests/
COPY --chown=deeplite:deeplite benchmarks/ benchmarks/
COPY --chown=deeplite:deeplite docs/ docs/
# Numeric, so that runtimes enforcing "runAsNonRoot" can check it without reading /etc/passwd.
USER 10001:10001
CMD ["pytest"]

FROM runtime AS test
# The README's two commands, their install halves being the wheel install above: the main job (a few
# seconds of training on a bundled data set), then the test suite, which fails the build if it fails.
RUN deeplite train \
    && pytest

# The default target (plain `docker build`) is the runtime image; `test` is built only when asked for.
FROM runtime AS image
