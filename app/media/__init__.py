"""Audio and video lessons: uploads (uploads.py), the queue and worker that make encrypted
HLS of them (queue.py, transcode.py, ffmpeg.py), where their files live (storage.py), who may
play them and the signed playlists that let them (delivery.py), and how far each reader has
played (progress.py). The reader's routes are views.py; the studio's are in app/studio."""

from flask import Blueprint

bp = Blueprint("media", __name__)

from app.media import views  # noqa: E402,F401  (routes attach to bp)
