#!/usr/bin/env bash
# Sets up the machine, builds with AddressSanitizer and UndefinedBehaviorSanitizer,
# runs each fuzz harness for a minute (scripts/fuzz.sh), starts a private Docker engine,
# and runs every test (unit, integration on loopback, against the real engine, and the
# compose stack end to end) through CTest. A fuzz crash fails the run after CTest, so
# that both results are seen.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --tests
scripts/build.sh asan

# Before the engine and the tests, so that the fuzzers have the cores to themselves.
fuzz_status=0
scripts/fuzz.sh 60 || fuzz_status=$?

# The real-engine tests: a private dockerd (never the system's) and the test image.
eval "$(scripts/docker_engine.sh start)"
trap "$PWD/scripts/docker_engine.sh stop || true" EXIT
scripts/docker_engine.sh images
# The base image the stack's Dockerfiles build FROM (made with debootstrap when it
# cannot be pulled); the end-to-end test builds the stack's images itself.
scripts/base_image.sh
export DOCKMASTER_REAL_DOCKER=1
# The tests that need chromium, prometheus or promtool (set up above) fail without them
# here instead of skipping.
export DOCKMASTER_REQUIRE_TOOLS=1
# Leak checks stay on; tests/lsan.supp is where a known third-party leak would go (none now).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd build-asan
ctest_status=0
ctest --output-on-failure -j2 --timeout 600 || ctest_status=$?
if ((fuzz_status != 0)); then
  echo "test: scripts/fuzz.sh failed (exit $fuzz_status): see its output above and build-fuzz/findings/" >&2
  exit "$fuzz_status"
fi
exit "$ctest_status"
