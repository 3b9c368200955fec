#!/usr/bin/env bash
# Builds the libFuzzer harnesses (scripts/build.sh fuzz) and runs each in turn for about
# SECONDS (default 60), on a copy of its seed corpus (tests/fuzz/corpus/<harness>/) so
# that nothing new is written into the repository. Exits non-zero when a harness finds
# a crash; its reproducer is kept in build-fuzz/findings/<harness>/.
# usage: scripts/fuzz.sh [SECONDS] [HARNESS...]   (default: every harness)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "usage: $0 [SECONDS] [HARNESS...]" >&2
  exit 2
fi

scripts/build.sh fuzz

harnesses=("$@")
if ((${#harnesses[@]} == 0)); then
  for source in tests/fuzz/*_fuzz.cpp; do
    name=$(basename "$source" .cpp)
    harnesses+=("${name%_fuzz}")
  done
fi

work=build-fuzz/run
rm -rf "$work"
mkdir -p "$work"
# Leaks are findings too; a harness's own checks end in __builtin_trap or abort.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for harness in "${harnesses[@]}"; do
  binary=build-fuzz/tests/fuzz/${harness}_fuzz
  if [[ ! -x $binary ]]; then
    echo "fuzz: no harness $harness ($binary)" >&2
    exit 2
  fi
  corpus=$work/$harness/corpus
  findings=build-fuzz/findings/$harness
  rm -rf "$findings"
  mkdir -p "$corpus" "$findings"
  if [[ -d tests/fuzz/corpus/$harness ]]; then cp -R "tests/fuzz/corpus/$harness/." "$corpus/"; fi
  options=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$findings/" -timeout=10
           -rss_limit_mb=2048)
  if [[ -f tests/fuzz/$harness.dict ]]; then options+=(-dict="tests/fuzz/$harness.dict"); fi
  echo "fuzz: $harness for ${seconds}s"
  if "$binary" "${options[@]}" "$corpus" >"$work/$harness.log" 2>&1; then
    grep -E '^(stat::|#[0-9]+.*DONE)' "$work/$harness.log" || true
    echo "fuzz: $harness: no crash, corpus $(find "$corpus" -type f | wc -l) inputs"
  else
    tail -n 60 "$work/$harness.log"
    if compgen -G "$findings/*" >/dev/null; then
      echo "fuzz: $harness FOUND A CRASH (full log $work/$harness.log, input in $findings/)" >&2
    else
      echo "fuzz: $harness did not run (full log $work/$harness.log)" >&2
    fi
    failed+=("$harness")
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#harnesses[@]} harnesses, ${seconds}s each, no crash"
