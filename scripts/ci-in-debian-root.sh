#!/usr/bin/env bash
# The GitHub workflow's test job (.github/workflows/ci.yml) without Docker: `.ci/run`, as root, on a
# clean clone of this checkout's HEAD, inside a pristine Debian 12 root made by debootstrap, in
# network, mount and PID namespaces of its own. Nothing of this machine is seen: not its PostgreSQL or
# Redis (the root's own start on its own loopback), not its packages, caches or virtualenvs. It found
# what the developers' machines hid: Debian's PostgreSQL package turns TLS on (bench/README.md).
#
#   sudo scripts/ci-in-debian-root.sh [ROOT]      # default ROOT: /var/tmp/skillquest-ci-root
#
# Needs root, `debootstrap` and `slirp4netns` (apt-get install debootstrap slirp4netns). The root is
# made once (a few minutes) and kept, with the packages .ci/run installed into it, as a container
# image with a warm apt cache would be; delete ROOT to start from nothing. The clone is made afresh
# each run. Behind a proxy that re-signs TLS, this machine's extra CA certificates and pip.conf are
# copied in, and the usual CA variables passed through. Exits with .ci/run's status.
set -euo pipefail

root="$(realpath -m "${1:-/var/tmp/skillquest-ci-root}")"
checkout="$(cd "$(dirname "$0")/.." && pwd)"

if [ "${SKILLQUEST_CI_INSIDE:-}" = 1 ]; then
  # In the new namespaces (below): the root's file systems, loopback, and the network slirp4netns adds.
  mount --make-rprivate /
  mount -t proc proc "$root/proc"
  mount -t sysfs sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o size=2g tmpfs "$root/dev/shm" # as the workflow's --shm-size=2g
  ip link set lo up
  for _ in $(seq 100); do ip -4 addr show tap0 2>/dev/null | grep -q inet && break; sleep 0.1; done
  echo "nameserver 10.0.2.3" >"$root/etc/resolv.conf" # slirp4netns' DNS
  pass=()
  for name in PIP_CERT REQUESTS_CA_BUNDLE SSL_CERT_FILE NODE_EXTRA_CA_CERTS; do
    if [ -n "${!name:-}" ]; then pass+=("$name=/etc/ssl/certs/ca-certificates.crt"); fi
  done
  exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 "${pass[@]}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c 'cd /build/skillquest && bash .ci/run'
fi

[ "$(id -u)" = 0 ] || { echo "run as root (debootstrap, chroot, namespaces)" >&2; exit 2; }
for tool in debootstrap slirp4netns unshare; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install debootstrap slirp4netns" >&2; exit 2; }
done

if [ ! -x "$root/usr/bin/python3" ]; then
  echo "== Making a Debian 12 root in $root"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$root" http://deb.debian.org/debian
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # What the workflow's python:3.11-bookworm image brings beyond a minimal Debian.
  chroot "$root" /bin/bash -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    python3 python3-venv python3-pip python3-dev git make gcc g++ curl procps iproute2 libpq-dev'
fi
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null
fi
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"

rm -rf "$root/build"
mkdir -p "$root/build"
git clone -q "$checkout" "$root/build/skillquest"
echo "== .ci/run on $(git -C "$root/build/skillquest" log --oneline -1) in $root"

SKILLQUEST_CI_INSIDE=1 unshare --net --mount --pid --fork "$0" "$root" &
inside=$!
slirp4netns --configure --mtu=65520 --disable-host-loopback "$inside" tap0 >/dev/null &
slirp=$!
trap 'kill "$slirp" 2>/dev/null || true' EXIT
status=0
wait "$inside" || status=$?
echo "== .ci/run in the Debian root: exit status $status"
exit "$status"
