"""The baseline for bench/storefront.py: the least a Flask app can do per request.

Served by the same gunicorn settings as the shop: `gunicorn --chdir bench hello_app:app`.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
