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
EXPOSE 5005
# The API token comes from SOTONG_RASA_TOKEN in the environment, added by rasa_cli.py
# inside the process: never on the command line, which every local user can read (L11).
CMD ["python", "/nlu/rasa_cli.py", "run", "--enable-api", "--model", "/models/sotong.tar.gz", "--endpoints", "/nlu/endpoints.yml", "--credentials", "/nlu/credentials.yml", "--port", "5005"]
