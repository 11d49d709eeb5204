"""Fill scripts/nginx/skillquest.conf.template as the nginx image's envsubst does, and write a
complete nginx configuration around it in a directory of its own (the tests and bench/leaderboard.py
start Debian's nginx with it; docker-compose uses the template itself).

    python scripts/nginx/render.py --prefix /tmp/sq-nginx --listen 127.0.0.1:8080 \\
        --web 127.0.0.1:8000 --ws 127.0.0.1:8001 --static-root staticfiles
    nginx -p /tmp/sq-nginx -c /tmp/sq-nginx/nginx.conf -g 'daemon off;'
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "skillquest.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# ${NAME} in capitals: nginx's own variables ($host, $request_id) are lower case and unbraced.
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
# The directories nginx writes to while it runs: the micro-cache and its request-body/proxy buffers.
WRITABLE = ("cache", "client_body", "proxy", "fastcgi", "uwsgi", "scgi")
# Debian's unprivileged account, which the workers of an nginx started as root run as.
WORKER_USER, WORKER_GROUP = "nobody", "nogroup"


def render(values: Mapping[str, str], template: str | None = None) -> str:
    """The template with every ${NAME} filled; a placeholder without a value is an error, not a blank."""
    text = TEMPLATE.read_text() if template is None else template
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def standalone(
    prefix: Path,
    *,
    listen: str,
    web: str,
    ws: str,
    static_root: Path,
    max_body_size: str = "1m",
    workers: int = 1,
) -> list[str]:
    """Write `prefix`/nginx.conf (the filled template inside a minimal main configuration, every path
    under `prefix`) and return the command that runs nginx with it in the foreground."""
    prefix = prefix.resolve()
    prefix.mkdir(parents=True, exist_ok=True)
    site = render(
        {
            "NGINX_LISTEN": listen,
            "SKILLQUEST_WEB": web,
            "SKILLQUEST_WS": ws,
            "NGINX_STATIC_ROOT": str(Path(static_root).resolve()),
            "NGINX_CACHE_DIR": str(prefix / "cache"),
            "NGINX_MAX_BODY_SIZE": max_body_size,
        }
    )
    (prefix / "skillquest.conf").write_text(site)
    as_root = os.geteuid() == 0
    temp_paths = "".join(
        f"    {name}_temp_path {prefix / name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        (f"user {WORKER_USER} {WORKER_GROUP};\n" if as_root else "") + f"worker_processes {workers};\n"
        f"pid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\n"
        "events {\n    worker_connections 4096;\n}\n"
        "http {\n"
        "    include /etc/nginx/mime.types;\n"
        "    default_type application/octet-stream;\n"
        "    access_log off;\n"
        "    sendfile on;\n"
        "    keepalive_timeout 65;\n"
        f"{temp_paths}"
        f"    include {prefix / 'skillquest.conf'};\n"
        "}\n"
    )
    for name in WRITABLE:
        directory = prefix / name
        directory.mkdir(exist_ok=True)
        if as_root:  # the workers run as nobody and must write here
            account = pwd.getpwnam(WORKER_USER)
            os.chown(directory, account.pw_uid, account.pw_gid)
    return [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", type=Path, required=True)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--web", required=True)
    parser.add_argument("--ws", required=True)
    parser.add_argument("--static-root", type=Path, required=True)
    parser.add_argument("--max-body-size", default="1m")
    args = parser.parse_args()
    command = standalone(
        args.prefix,
        listen=args.listen,
        web=args.web,
        ws=args.ws,
        static_root=args.static_root,
        max_body_size=args.max_body_size,
    )
    print(" ".join(command[:-1]), repr(command[-1]))


if __name__ == "__main__":
    main()
