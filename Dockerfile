FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    OMS_VAR_DIR=/app/var STATIC_ROOT=/app/staticfiles
WORKDIR /app

COPY pyproject.toml README.md ./
COPY oms oms
COPY catalog catalog
COPY orders orders
COPY inventory inventory
COPY shipping shipping
COPY cs cs
COPY analytics analytics
COPY channels channels
RUN pip install .
COPY . .
# Static files and the compiled Korean catalog are built into the image.
RUN DEBUG=0 SECRET_KEY=build-only OMS_CREDENTIALS_KEYS=ZmFrZS1idWlsZC1rZXktMDEyMzQ1Njc4OWFiY2RlZg== \
      python manage.py compile_translations \
 && DEBUG=0 SECRET_KEY=build-only OMS_CREDENTIALS_KEYS=ZmFrZS1idWlsZC1rZXktMDEyMzQ1Njc4OWFiY2RlZg== \
      python manage.py collectstatic --no-input \
 && useradd --system --home /app oms && mkdir -p /app/var && chown -R oms /app/var
USER oms
EXPOSE 8000
CMD ["gunicorn", "oms.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--access-logfile", "-"]
