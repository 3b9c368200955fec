#!/usr/bin/env bash
# Installs every Debian package that the build, the tests and the benchmarks need;
# with --tests also what the tests run against: the headless browser (chromium), a Prometheus
# server and its promtool (prometheus), and clang with
# its libFuzzer and llvm-symbolizer for the fuzz harnesses (scripts/fuzz.sh).
# Idempotent: packages already present are skipped, and apt is not touched at all
# when nothing is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libcaf-dev libboost-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  curl python3
  wrk nginx-light haproxy
)
if [[ ${1:-} == --tests ]]; then packages+=(chromium prometheus clang libclang-rt-14-dev llvm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
