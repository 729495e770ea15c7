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
COPY bot ./bot
COPY handlers ./handlers
COPY migrations ./migrations
RUN pip install --no-cache-dir -e .
COPY locales ./locales
COPY data ./data

USER ankommen
VOLUME ["/var/lib/ankommen"]
# Migrate, import (both idempotent), then the main job.
# Webhook mode (WEBHOOK_URL set) listens on WEBHOOK_PORT, 8443 by default.
EXPOSE 8443
ENTRYPOINT ["sh", "-c", "ankommen db upgrade && ankommen import && exec ankommen run \"$@\"", "ankommen"]
