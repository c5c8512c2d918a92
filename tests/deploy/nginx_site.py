"""deploy/nginx/shop.conf made runnable here: rendered with test paths and loopback ports
inside a minimal nginx.conf that needs no root and writes only under a tmp folder, with a
self-signed certificate made by `cryptography`.

nginx is found on PATH or in /usr/sbin; without it the tests skip, unless REQUIRE_NGINX=1
(.ci/run sets it and installs nginx), which turns the skip into a failure.
"""

import datetime
import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "shop.conf"
MIME_TYPES = Path("/etc/nginx/mime.types")


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        if os.environ.get("REQUIRE_NGINX") == "1":
            pytest.fail("REQUIRE_NGINX=1 but nginx is not installed", pytrace=False)
        pytest.skip("nginx is not installed (apt install nginx); .ci/run has it")
    return found


@dataclass(frozen=True)
class Rendered:
    folder: Path
    config: Path
    certificate: Path
    access_log: Path
    error_log: Path


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("shop.example.com"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    chain, private = folder / "fullchain.pem", folder / "privkey.pem"
    chain.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return chain, private


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"the site no longer has {old!r}: update this test's rendering"
    return text.replace(old, new)


def render(
    folder: Path, *, http_port: int, https_port: int, upstream_port: int, uploads: Path
) -> Rendered:
    """The site with the documented placeholders replaced, as docs/deploy.md tells an
    installer to, plus loopback ports; IPv6 listeners dropped (not every test box has ::1)."""
    logs = folder / "logs"
    acme = folder / "acme"
    for made in (logs, acme, *(folder / "temp" / n for n in ("body", "proxy", "misc"))):
        made.mkdir(parents=True, exist_ok=True)
    chain, _ = self_signed(folder / "tls")

    site = SITE.read_text()
    site = "\n".join(line for line in site.splitlines() if "listen [::]" not in line)
    site = _replace(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = _replace(site, "listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = _replace(site, "/etc/letsencrypt/live/shop.example.com/", f"{folder / 'tls'}/")
    site = _replace(site, "/srv/shop/instance/uploads/", f"{uploads}/")
    site = _replace(site, "/var/www/letsencrypt", str(acme))
    site = _replace(site, "/var/log/nginx/", f"{logs}/")
    site = _replace(site, "server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};")
    (folder / "shop.conf").write_text(site)

    temp = folder / "temp"
    # As root, nginx's workers would become `nobody`, who cannot read a private tmp folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    mime = f"include {MIME_TYPES};" if MIME_TYPES.exists() else ""
    config = folder / "nginx.conf"
    config.write_text(
        f"""{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {logs}/error.log;
events {{ worker_connections 64; }}
http {{
    {mime}
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/misc;
    uwsgi_temp_path {temp}/misc;
    scgi_temp_path {temp}/misc;
    access_log {logs}/default.access.log;
    include {folder}/shop.conf;
}}
"""
    )
    return Rendered(folder, config, chain, logs / "shop.access.log", logs / "error.log")


def nginx_command(binary: str, rendered: Rendered, *args: str) -> list[str]:
    # -e: the startup error log too, or nginx would first open /var/log/nginx/error.log.
    return [
        binary,
        "-p",
        str(rendered.folder),
        "-c",
        str(rendered.config),
        "-e",
        str(rendered.error_log),
        *args,
    ]


def check(binary: str, rendered: Rendered) -> subprocess.CompletedProcess:
    return subprocess.run(
        nginx_command(binary, rendered, "-t"), capture_output=True, text=True, timeout=30
    )
