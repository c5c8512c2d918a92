"""The ffmpeg the shop runs, and what it says a file is.

ffmpeg comes inside the imageio-ffmpeg wheel (a static build with x264 and AAC), so set-up
needs nothing from the system; FFMPEG_BINARY in the configuration may name another. A file is
judged by what ffmpeg finds in it, never by its name: its container, its streams, its
length. Every run reads local files only (`-protocol_whitelist`): a crafted playlist or
concat file inside an upload cannot make ffmpeg fetch anything.
"""

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.models import MediaKind

LOCAL_ONLY = ("-protocol_whitelist", "file,pipe")
PROBE_TIMEOUT_S = 60

# The containers the studio takes, as ffmpeg names what it found.
AUDIO_CONTAINERS = {"mp3", "wav"}
MOV_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2"  # mp4, mov and m4a: video or audio only
ACCEPTED = "mp3、m4a、wav 音频，mp4、mov 视频"


class NotMedia(ValueError):
    """The file is not audio or video the shop takes; the message is for the creator."""


@dataclass(frozen=True)
class Probe:
    kind: MediaKind
    container: str
    duration_ms: int
    width: int | None  # as shown: a phone video's rotation applied
    height: int | None
    has_audio: bool


def binary(configured: str = "") -> str:
    if configured:
        return configured
    import imageio_ffmpeg  # the wheel's own binary, unpacked with it

    return imageio_ffmpeg.get_ffmpeg_exe()


def probe(path: Path, ffmpeg: str) -> Probe:
    """What the file is; NotMedia when it is not one the shop takes."""
    try:
        ran = subprocess.run(
            [ffmpeg, "-hide_banner", "-nostdin", *LOCAL_ONLY, "-i", str(path)],
            capture_output=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise NotMedia("无法识别这个文件：读取超时") from None
    # With no output named, ffmpeg describes the input on stderr and exits 1: that is the probe.
    return describe(ran.stderr.decode("utf-8", "replace"))


_INPUT = re.compile(r"^Input #0, ([^\n]+?), from ", re.M)
_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #0:\d+.*?: (Video|Audio): ([^\n]*)$", re.M)
_SIZE = re.compile(r", (\d{2,5})x(\d{2,5})[ ,]")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")


def describe(said: str) -> Probe:
    """The probe, from what ffmpeg printed about its input."""
    found = _INPUT.search(said)
    if found is None:
        raise NotMedia(f"无法识别这个文件：请上传 {ACCEPTED}")
    container = found.group(1)
    videos = [rest for kind, rest in _STREAM.findall(said) if kind == "Video"]
    videos = [rest for rest in videos if "attached pic" not in rest]  # an mp3's cover art
    has_audio = any(kind == "Audio" for kind, _ in _STREAM.findall(said))
    if container == MOV_FAMILY and videos:
        kind = MediaKind.VIDEO
    elif (container == MOV_FAMILY or container in AUDIO_CONTAINERS) and has_audio:
        kind = MediaKind.AUDIO
    else:
        raise NotMedia(f"不支持这种文件（{container}）：请上传 {ACCEPTED}")
    duration = _DURATION.search(said)
    if duration is None:
        raise NotMedia("无法读出这个文件的时长")
    hours, minutes, seconds = duration.groups()
    duration_ms = round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)
    if duration_ms <= 0:
        raise NotMedia("这个文件的时长为 0")
    width = height = None
    if kind is MediaKind.VIDEO:
        size = _SIZE.search(videos[0])
        if size is None:
            raise NotMedia("无法读出视频的尺寸")
        width, height = int(size.group(1)), int(size.group(2))
        rotation = _ROTATION.search(said)
        if rotation is not None and round(abs(float(rotation.group(1)))) % 180 == 90:
            width, height = height, width
    return Probe(kind, container, duration_ms, width, height, has_audio)
