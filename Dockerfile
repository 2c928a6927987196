# VetrAI Platform: one image for `vetrai serve`, `vetrai worker` and `vetrai migrate`.
# Build: docker build -t vetrai .   Run everything: docker compose up (see docs/operations.md).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md __init__.py ./
COPY core core
COPY plugins plugins
COPY engine engine
COPY entrypoints entrypoints
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VETRAI_HOST=0.0.0.0 \
    VETRAI_PORT=8000 \
    VETRAI_DATA_DIR=/data
RUN useradd --create-home --uid 10001 --user-group vetrai \
    && mkdir /data && chown vetrai:vetrai /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER vetrai
WORKDIR /data
EXPOSE 8000
# Liveness of the server; compose turns it off for the worker and the one-off migrate.
HEALTHCHECK --interval=15s --timeout=3s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
ENTRYPOINT ["vetrai"]
CMD ["serve"]
