"""Front-end libraries the shop serves itself, fetched from the npm registry at set-up
(`make` runs `python -m app.web.vendor`): pinned by version and checked against the
registry's own integrity hash, so a clone installs exactly what was tested, and no page ever
loads a script from the internet. The files land in app/static/vendor/ (not in git).

Only hls.js today: the player plays HLS with it where the browser has no HLS of its own
(desktop Chromium and Firefox, Android's WebView); WeChat on iOS and Safari play it natively.
Its light build has what the shop uses (AES-128 segments, renditions), and not subtitles,
alternate audio or DRM.
"""

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
VENDOR = Path(__file__).resolve().parent.parent / "static" / "vendor"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # as package-lock.json has it: sha512-<base64>
    files: dict[str, str]  # path in the tarball -> file name in app/static/vendor

    @property
    def tarball_url(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name}-{self.version}.tgz"


HLS_JS = Package(
    name="hls.js",
    version="1.7.4",
    integrity="sha512-3GlxGdPvT2YHvQYOt+yOzT/DEior/qJVNIylHA77kgeoBTdQQqi70GwefNEUmHQeNGyjC8U62+bruqW/Tpm+tg==",
    files={
        "package/dist/hls.light.min.js": "hls.light.min.js",
        "package/LICENSE": "hls.js.LICENSE",
    },
)
PACKAGES = (HLS_JS,)


class IntegrityError(Exception):
    pass


def fetch(package: Package, folder: Path = VENDOR, timeout: float = 60) -> None:
    """Download, check and unpack a package's files (again only when one is missing)."""
    if all((folder / name).exists() for name in package.files.values()):
        return
    with urllib.request.urlopen(package.tarball_url, timeout=timeout) as answer:
        data = answer.read()
    algorithm, _, expected = package.integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise IntegrityError(f"{package.name} {package.version}: the tarball is not the pinned one")
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for inside, name in package.files.items():
            member = archive.extractfile(inside)
            if member is None:
                raise IntegrityError(f"{package.name}: {inside} is not in the tarball")
            (folder / name).write_bytes(member.read())


def main() -> int:
    for package in PACKAGES:
        try:
            fetch(package)
        except (OSError, IntegrityError) as error:
            print(f"could not fetch {package.name} {package.version}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
