import pytest

from tests.media.helpers import make_audio, make_video


@pytest.fixture(scope="session")
def samples(tmp_path_factory):
    """Real files, made once per run: a 9-second tone (mp3) and test pattern (mp4)."""
    folder = tmp_path_factory.mktemp("media-samples")
    return {"audio": make_audio(folder), "video": make_video(folder)}
