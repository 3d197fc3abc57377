# rnnviz in a container: one Streamlit replica. Put several behind any load balancer with
# sticky sessions (deploy/nginx.conf.template, or deploy/kubernetes.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /app
COPY requirements.txt pyproject.toml README.md ./
RUN pip install -r requirements.txt
COPY rnnviz ./rnnviz
RUN pip install --no-deps .
COPY app.py ./
COPY app_pages ./app_pages
COPY assets ./assets
COPY .streamlit ./.streamlit

RUN useradd --create-home --uid 10001 rnnviz
USER rnnviz

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0", \
     "--server.headless=true", "--browser.gatherUsageStats=false"]
