"""The demo's audio and video lessons, made at set-up by the shop's own ffmpeg: a tone for
the audio (a spoken lesson as far as the player can tell) and a test pattern with a tone for
the video. They go through the same upload and processing as a creator's files."""

import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from app.demo import content
from app.extensions import db
from app.media import ffmpeg, queue, uploads
from app.models import Product
from app.transactions import writing


def tone(target: Path, seconds: int, binary: str = "") -> Path:
    """A sine tone that rises a little every few seconds, as mp3."""
    source = f"sine=frequency=330:beep_factor=2:duration={seconds}"
    _make(binary, ["-f", "lavfi", "-i", source], target)
    return target


def test_pattern(target: Path, seconds: int, size: str = "640x360", binary: str = "") -> Path:
    """A moving test pattern with a tone, H.264 and AAC in mp4, as a phone would send."""
    _make(
        binary,
        [
            *("-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"),
            *("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
            *("-c:a", "aac", "-shortest"),
        ],
        target,
    )
    return target


def _make(binary: str, args: list[str], target: Path) -> None:
    command = [ffmpeg.binary(binary), "-hide_banner", "-nostdin", "-y", *args, str(target)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)


def seed(products: Mapping[str, Product], config: Mapping) -> None:
    """Give the demo's lessons (content.MEDIA) their audio and video, processed and ready."""
    with tempfile.TemporaryDirectory() as folder:
        for spec in content.MEDIA:
            item = products[spec["slug"]]
            lesson = item.sections[spec["lesson"] - 1]
            made = Path(folder) / spec["file"]
            if spec["kind"] == "audio":
                tone(made, spec["seconds"], config["FFMPEG_BINARY"])
            else:
                test_pattern(made, spec["seconds"], binary=config["FFMPEG_BINARY"])
            data = made.read_bytes()
            with writing():
                upload = uploads.start(item, lesson, spec["file"], len(data))
                uploads.append(upload, 0, data, config["UPLOAD_FOLDER"])
            probe = uploads.probe(upload, config["UPLOAD_FOLDER"], config["FFMPEG_BINARY"])
            with writing():
                media = uploads.finish(upload, probe, config["UPLOAD_FOLDER"])
                media.preview_seconds = spec.get("preview_seconds")
    queue.work(config, stop_when_idle=True)
    db.session.commit()
