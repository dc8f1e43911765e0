FROM python:3.12-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# The embedded PostgreSQL wheel is a dependency but is never started here: REGISTER_DATABASE_URL is set.
COPY pyproject.toml README.md alembic.ini ./
# The layers, from the domain up (docs/architecture.md); demo/ for `register demo`.
COPY register register
COPY importers importers
COPY intake intake
COPY api api
COPY cli cli
COPY demo demo
COPY migrations migrations
# The checkpoint directory belongs to the API's user; a new named volume mounted there takes its owner.
RUN pip install --no-cache-dir -e . && useradd --system register \
    && install -d -o register -m 0750 /var/lib/register/audit-checkpoints
USER register
EXPOSE 8000
CMD ["register", "serve", "--host", "0.0.0.0", "--port", "8000"]
