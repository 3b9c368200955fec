#!/usr/bin/env bash
# Makes sure the base image that the Dockerfiles of deploy/compose/ build FROM exists in
# the engine that DOCKER_HOST (or the default socket) points at: debian:bookworm-slim.
#
# Where a registry is reachable, `docker pull` gets it. Where none is (an offline
# machine), the same tag is made locally: `debootstrap --variant=minbase bookworm`
# from Debian's package mirror, imported with `docker import`. The Dockerfiles and the
# compose file stay the same in both cases.
#
# usage: scripts/base_image.sh [--no-pull]
set -euo pipefail

tag=debian:bookworm-slim
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
say() { echo "base_image: $*" >&2; }
if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi

docker_cli() {
  local cli=/usr/bin/docker
  [[ -x $cli ]] || cli=$(command -v docker)
  DOCKER_BUILDKIT=0 "$cli" "$@"
}

if docker_cli image inspect "$tag" >/dev/null 2>&1; then
  say "$tag present"
  exit 0
fi

if [[ ${1:-} != --no-pull ]] && timeout 60 docker_cli pull -q "$tag" >/dev/null 2>&1; then
  say "$tag pulled"
  exit 0
fi

say "$tag cannot be pulled: building it with debootstrap from $mirror"
if ! command -v debootstrap >/dev/null; then
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2 ||
    { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; } >&2
fi

root=$(mktemp -d /tmp/dockmaster-bookworm.XXXXXX)
trap '$sudo rm -rf "$root"' EXIT
$sudo debootstrap --variant=minbase bookworm "$root" "$mirror" >&2
# What the official slim image has: sources with security updates, no package caches,
# no recommends, no docs.
$sudo tee "$root/etc/apt/sources.list" >/dev/null <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
$sudo tee "$root/etc/apt/apt.conf.d/docker-clean" >/dev/null <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
EOF
$sudo tee "$root/etc/dpkg/dpkg.cfg.d/docker-nodoc" >/dev/null <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
EOF
$sudo rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
$sudo tar -C "$root" -c . | docker_cli import -c 'CMD ["bash"]' - "$tag" >/dev/null
say "$tag imported ($(docker_cli image inspect -f '{{.Size}}' "$tag") bytes)"
