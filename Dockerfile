# The graphrails API / CLI image (docker-compose.yml builds it as 'api').
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY graph ./graph
COPY gnn ./gnn
COPY api ./api
COPY loaders ./loaders
COPY experiments ./experiments
COPY sim ./sim
COPY cli ./cli
COPY cypher ./cypher
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["graphrails", "serve", "--host", "0.0.0.0", "--port", "8000"]
