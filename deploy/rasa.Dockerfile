# Rasa 3.6.21 server (Python 3.10) with the trained model baked in.
FROM python:3.10-slim AS train
WORKDIR /nlu
COPY requirements/rasa.txt /tmp/rasa.txt
RUN pip install --no-cache-dir -r /tmp/rasa.txt
COPY nlu/ /nlu/
ENV RASA_TELEMETRY_ENABLED=false
RUN python /nlu/rasa_cli.py train --domain domain --out /models --fixed-model-name sotong

FROM train
ENV RASA_TELEMETRY_ENABLED=false
# Not root: the server reads the model; it writes only caches, under its own home.
RUN useradd --system --uid 10002 --create-home rasa
USER 10002
EXPOSE 5005
# Rasa's root route answers without the token ("Hello from Rasa").
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/', timeout=2)"]
# The API token comes from SOTONG_RASA_TOKEN in the environment, added by rasa_cli.py
# inside the process: never on the command line, which every local user can read (L11).
CMD ["python", "/nlu/rasa_cli.py", "run", "--enable-api", "--model", "/models/sotong.tar.gz", "--endpoints", "/nlu/endpoints.yml", "--credentials", "/nlu/credentials.yml", "--port", "5005"]
