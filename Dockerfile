# Ankommen in a container: non-root, the store migrated and data/ imported at every start.
#   docker build -t ankommen .
#   docker run -it --rm -v ankommen:/var/lib/ankommen ankommen                    # console chat
#   docker run -d -e DATABASE_URL=postgresql://… -e TELEGRAM_BOT_TOKEN=… ankommen  # the bot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ANKOMMEN_STATE_DIR=/var/lib/ankommen

RUN useradd --system --uid 10001 --create-home --home-dir /home/ankommen ankommen \
 && mkdir -p /var/lib/ankommen \
 && chown ankommen:ankommen /var/lib/ankommen

WORKDIR /app
COPY pyproject.toml README.md ./
COPY .ci/requirements.lock ./.ci/requirements.lock
# The same pinned, hash-checked packages that CI audits and tests with.
RUN pip install --no-cache-dir --require-hashes -r .ci/requirements.lock
COPY bot ./bot
COPY handlers ./handlers
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps -e .
COPY locales ./locales
COPY data ./data

USER ankommen
VOLUME ["/var/lib/ankommen"]
# The main job: `ankommen run` migrates the store and imports data/ (both idempotent, under a
# store-wide lock, so replicas started together take turns), then serves the console chat (no
# token) or Telegram. Webhook mode (WEBHOOK_URL set) listens on WEBHOOK_PORT, 8443 by default.
EXPOSE 8443
ENTRYPOINT ["ankommen"]
CMD ["run"]
