#!/bin/sh
# The app container: bring the database up to date, then serve. Several replicas would race
# here; compose.yaml runs one.
set -eu
flask db upgrade
exec gunicorn -c deploy/gunicorn.conf.py
