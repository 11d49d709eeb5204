# Build stage: wheels compiled with build tools that never reach the final image.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r /tmp/requirements.txt

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORT=8000
RUN useradd --create-home --uid 1000 skillquest
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
WORKDIR /app
COPY --chown=skillquest:skillquest . /app
RUN DEBUG=false SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
USER skillquest
EXPOSE 8000
CMD ["sh", "-c", "gunicorn skillquest.wsgi:application --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-4} --access-logfile -"]
