# Production image: gunicorn serves the web app; the same image runs the Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 VAR_DIR=/app/var
WORKDIR /app

RUN useradd --system --uid 1000 --home /app app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic needs settings but no database or secrets.
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput && mkdir -p /app/var && chown -R app /app/var
USER app

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# Access log without query strings (launch ids are bearer tokens): lti_config/gunicorn_conf.py.
CMD ["gunicorn", "-c", "python:lti_config.gunicorn_conf", "lti_config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
