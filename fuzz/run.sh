#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang and runs each for SECONDS
# (default 60) on a copy of its seed corpus in the build dir.
#   fuzz/run.sh [SECONDS]        FUZZ_BUILD=DIR (default build-fuzz in the source tree, ignored by git)
# Prints one line per harness; exits non-zero naming each harness that found
# a crash, a leak or a sanitizer error (its log and input stay in the build
# dir). Nothing is written into the repository.
set -euo pipefail

secs=${1:-60}
if ! [[ $secs =~ ^[0-9]+$ ]] || [ "$secs" -eq 0 ]; then
	echo "usage: fuzz/run.sh [SECONDS]" >&2
	exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$src/build-fuzz}
harnesses=(proto config record engine command fuse passwd audit)
declare -A max_len=([proto]=70000 [config]=65536 [record]=65536 [engine]=70000 [command]=8192 [fuse]=70000 [passwd]=16384 [audit]=70000)

# clang and its sanitizer and libFuzzer runtime (Debian 12).
missing=()
for p in clang libclang-rt-14-dev; do
	dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "fuzz: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y clang libclang-rt-14-dev >/dev/null ||
		{ apt-get update -qq && apt-get install -y clang libclang-rt-14-dev >/dev/null; }
fi

for h in "${harnesses[@]}"; do # each needs its seeds and its dictionary
	for f in "$src/fuzz/corpus/$h" "$src/fuzz/dict/$h.dict"; do
		[ -e "$f" ] || { echo "fuzz: $f is missing (harness $h)" >&2; exit 1; }
	done
done
mkdir -p "$build"
if ! cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DSSHBOX_FUZZ=ON \
	-DBUILD_TESTING=OFF >"$build/configure.log" 2>&1; then
	tail -n 20 "$build/configure.log" >&2
	echo "fuzz: configuring $build failed (log: $build/configure.log)" >&2
	exit 1
fi
if ! cmake --build "$build" --target fuzz -j "$(nproc)" >"$build/build.log" 2>&1; then
	grep -E 'error|Error' "$build/build.log" | head -n 20 >&2 || true
	echo "fuzz: building the harnesses failed (log: $build/build.log)" >&2
	exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
cd "$build" # libFuzzer's stray files land here, never in the repository
for h in "${harnesses[@]}"; do
	corpus=$build/corpus/$h
	artifacts=$build/artifacts/$h
	log=$build/fuzz_$h.log
	rm -rf "$corpus" "$artifacts"
	mkdir -p "$corpus" "$artifacts"
	cp "$src/fuzz/corpus/$h/"* "$corpus/"
	rc=0
	"$build/fuzz/fuzz_$h" -max_total_time="$secs" -max_len="${max_len[$h]}" -timeout=10 \
		-dict="$src/fuzz/dict/$h.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
		"$corpus" >"$log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ -z "$runs" ]; then # a crash ends the run before the final stats
		runs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
	fi
	if [ "$rc" -eq 0 ]; then
		printf 'fuzz_%-8s ok      %s runs in %ss, corpus %s inputs\n' "$h" "${runs:-?}" \
			"$secs" "$(find "$corpus" -type f | wc -l)"
	else
		printf 'fuzz_%-8s FAILED  exit %s after %s runs; log %s, input in %s\n' "$h" "$rc" \
			"${runs:-?}" "$log" "$artifacts"
		grep -E 'ERROR: |invariant failed|runtime error|SUMMARY' "$log" | head -n 5 | sed 's/^/    /'
		failed+=("fuzz_$h")
	fi
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]}" >&2
	exit 1
fi
