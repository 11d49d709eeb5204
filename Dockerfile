# syntax=docker/dockerfile:1
# Build stage: a virtualenv with every runtime dependency; compilers never reach the final image.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt

# Final stage: slim Python, the venv, the code (owned by root, so the app cannot rewrite itself).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH PORT=8000
RUN useradd --create-home --uid 1000 skillquest
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY . /app
RUN DEBUG=false SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
USER skillquest
EXPOSE 8000
# The Procfile's web command; the worker overrides it (docker-compose.yml).
CMD ["gunicorn", "--config", "gunicorn.conf.py", "skillquest.wsgi:application"]
