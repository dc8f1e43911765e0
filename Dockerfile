FROM python:3.12-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# The embedded PostgreSQL wheel is a dependency but is never started here: REGISTER_DATABASE_URL is set.
COPY pyproject.toml README.md alembic.ini ./
COPY register register
COPY api api
COPY importers importers
COPY migrations migrations
RUN pip install --no-cache-dir -e . && useradd --system register
USER register
EXPOSE 8000
CMD ["register", "serve", "--host", "0.0.0.0", "--port", "8000"]
