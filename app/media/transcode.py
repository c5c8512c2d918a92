"""Turning an original into what readers play: HLS renditions with AES-128 encrypted
segments, and a video's poster frame. Plain Python around ffmpeg; app/media/queue.py runs it
off the request path.

Video gets two renditions when the source is large enough (its short side at most 720 and
360 pixels), one otherwise; audio one AAC rendition. Segments are four seconds, cut at key
frames forced every four seconds so that every rendition cuts at the same moments. Every
segment of a media is encrypted with its one key; the playlists name the key by a
placeholder that app/media/delivery.py replaces with a signed, short-lived address.
"""

import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from app.media import storage
from app.media.ffmpeg import LOCAL_ONLY, Probe
from app.models import MediaKind

SEGMENT_SECONDS = 4
KEY_PLACEHOLDER = "key"
AUDIO_KBPS = 96
PRESET = "veryfast"
SHORT_SIDES = (720, 360)
KBPS_AT_720 = 1800


class TranscodeFailed(Exception):
    """ffmpeg could not make the renditions; the message is for the creator."""


@dataclass(frozen=True)
class Rendition:
    name: str  # its folder: "720p", "360p", "audio"
    width: int | None
    height: int | None
    video_kbps: int | None
    audio_kbps: int | None

    @property
    def bandwidth(self) -> int:
        """Bits per second at peak, as a master playlist declares it (10% over the target)."""
        return round(((self.video_kbps or 0) + (self.audio_kbps or 0)) * 1100)

    def as_stored(self) -> dict:
        return asdict(self) | {"bandwidth": self.bandwidth}


def plan(probe: Probe) -> list[Rendition]:
    """The renditions to make, best first."""
    audio_kbps = AUDIO_KBPS if probe.has_audio else None
    if probe.kind is MediaKind.AUDIO:
        return [Rendition("audio", None, None, None, AUDIO_KBPS)]
    short = min(probe.width, probe.height)
    sides = [side for side in SHORT_SIDES if side <= short] or [_even(short)]
    if len(sides) == 2 and short < 480:  # a second rendition barely smaller is no use
        sides = sides[1:]
    made = []
    for side in sides:
        scale = side / short
        width, height = _even(probe.width * scale), _even(probe.height * scale)
        kbps = max(300, round(KBPS_AT_720 * (side / 720) ** 2))
        made.append(Rendition(f"{side}p", width, height, kbps, audio_kbps))
    return made


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def run(
    ffmpeg: str,
    original: Path,
    probe: Probe,
    renditions: list[Rendition],
    key: bytes,
    work: Path,
    on_progress: Callable[[int], None],
) -> None:
    """Write the renditions (and a video's poster) into `work`. Raises TranscodeFailed."""
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as secrets_dir:
        key_file = Path(secrets_dir) / "key"
        key_file.write_bytes(key)
        key_info = Path(secrets_dir) / "keyinfo"
        # A random IV of the media's own, written into the playlist beside the key's address.
        key_info.write_text(f"{KEY_PLACEHOLDER}\n{key_file}\n{os.urandom(16).hex()}\n")
        command = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", "-nostats"]
        command += [*LOCAL_ONLY, "-i", str(original)]
        command += _outputs(probe, renditions, key_info, work)
        _run_with_progress(command, probe.duration_ms, on_progress)
    if probe.kind is MediaKind.VIDEO:
        _poster(ffmpeg, original, probe, renditions[0], work / storage.POSTER)


def _outputs(probe: Probe, renditions: list[Rendition], key_info: Path, work: Path) -> list[str]:
    args = []
    if probe.kind is MediaKind.VIDEO:
        splits = "".join(f"[v{n}]" for n in range(len(renditions)))
        scales = ";".join(
            f"[v{n}]scale={r.width}:{r.height}[out{n}]" for n, r in enumerate(renditions)
        )
        args += ["-filter_complex", f"[0:v:0]split={len(renditions)}{splits};{scales}"]
    for n, rendition in enumerate(renditions):
        folder = work / rendition.name
        folder.mkdir()
        if rendition.video_kbps is not None:
            kbps = rendition.video_kbps
            args += ["-map", f"[out{n}]", "-c:v", "libx264", "-preset", PRESET]
            args += ["-profile:v", "main", "-pix_fmt", "yuv420p", "-fpsmax", "30"]
            args += ["-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps * 2}k"]
            args += ["-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"]
        else:
            args += ["-vn"]
        if rendition.audio_kbps is not None:
            args += ["-map", "0:a:0", "-c:a", "aac", "-b:a", f"{rendition.audio_kbps}k"]
            args += ["-ac", "2", "-ar", "44100"]
        args += [
            "-f",
            "hls",
            "-hls_time",
            str(SEGMENT_SECONDS),
            "-hls_playlist_type",
            "vod",
            "-hls_key_info_file",
            str(key_info),
            "-hls_segment_filename",
            str(folder / "seg_%05d.ts"),
            str(folder / storage.PLAYLIST),
        ]
    return args


_OUT_TIME = re.compile(rb"^out_time_us=(\d+)", re.M)


def _run_with_progress(command: list[str], duration_ms: int, on_progress) -> None:
    """Run ffmpeg, telling `on_progress` the percent done as it goes; TranscodeFailed with
    the last thing ffmpeg said when it fails."""
    timeout = max(600, duration_ms / 1000 * 10)
    started = time.monotonic()
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors) as process,
    ):
        try:
            for line in process.stdout:
                found = _OUT_TIME.match(line)
                if found is not None:
                    on_progress(min(99, int(found.group(1)) // (10 * max(1, duration_ms))))
                if time.monotonic() - started > timeout:
                    raise TranscodeFailed("处理超时")
        except BaseException:
            process.kill()  # a timeout, or the job's own writes failing: ffmpeg stops too
            raise
        returncode = process.wait()
        if returncode != 0:
            errors.seek(0)
            said = errors.read().decode("utf-8", "replace").strip().splitlines()
            raise TranscodeFailed(f"转码失败：{said[-1] if said else returncode}"[:300])


def _poster(ffmpeg: str, original: Path, probe: Probe, best: Rendition, target: Path) -> None:
    """One frame a third of the way in (at most 3 s): the first frame is often black."""
    moment = min(3.0, probe.duration_ms / 3000)
    command = [ffmpeg, "-hide_banner", "-nostdin", "-y", *LOCAL_ONLY, "-ss", f"{moment:.2f}"]
    command += ["-i", str(original), "-frames:v", "1", "-vf", f"scale={best.width}:{best.height}"]
    command += ["-q:v", "4", str(target)]
    ran = subprocess.run(command, capture_output=True, timeout=120, check=False)
    if ran.returncode != 0 or not target.exists():
        raise TranscodeFailed("无法截取封面帧")


def new_key() -> bytes:
    return os.urandom(16)
