# rnnviz in a container: one replica, served by the installed `rnnviz` command (the same
# wheel `pip install .` makes: the app, its pages and its checkpoints are package data).
# Put several behind any load balancer with sticky sessions (deploy/nginx.conf.template,
# or deploy/kubernetes.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /src
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY pyproject.toml setup.py README.md app.py ./
COPY rnnviz ./rnnviz
COPY app_pages ./app_pages
COPY assets ./assets
COPY .streamlit ./.streamlit
RUN pip install --no-deps . && cd / && rm -rf /src

RUN useradd --create-home --uid 10001 rnnviz
USER rnnviz
WORKDIR /home/rnnviz

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
# Recorded runs mounted at /runs are offered on the Your model page.
ENV RNNVIZ_RUNS_DIR=/runs
CMD ["rnnviz", "serve", "--port", "8501", "--address", "0.0.0.0"]
