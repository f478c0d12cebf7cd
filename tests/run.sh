#!/usr/bin/env bash
# The whole test suite on a Debian 12 machine, as root: installs what is
# missing, then runs, in order (each phase must pass):
#   static  clang-format, clang-tidy, cppcheck, shellcheck (tests/static.sh)
#   test    build, bring up the test bed (its own dockerd, base image, sshd, watchdog,
#           test users), unit and end-to-end tests, take the bed down
#   podman  end-to-end tests (login, sessions, idle, verbs, isolation, connect)
#           again against a Podman service of the bed's own (ctest -L podman)
#   asan    the same as test with AddressSanitizer + UBSan builds of every program;
#           any sanitizer report fails the run
#   fuzz    every libFuzzer harness for FUZZ_SECONDS (60) each (fuzz/run.sh)
# Safe on a host running sshbox: the tests use their own dockerd, sshd,
# users and scratch installs. A sentinel "real" install on the machine's
# dockerd is set up before the test phases and checked untouched after the
# last (tests/e2e/test_sentinel_*.sh); SBX_SENTINEL=0 leaves it out.
#   tests/run.sh [ctest args...]   (as root; SBX_PHASES="test asan" picks)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
phases=${SBX_PHASES:-static test podman asan fuzz}
[ "$(id -u)" = 0 ] || { echo "tests/run.sh: run as root (it starts dockerd and sshd, adds test users)" >&2; exit 1; }
"$src/installer/deps.sh" --test --no-engine # the tests run their own dockerd

# suite BUILD_DIR BUILD_TYPE [ctest args...]: build, then ctest there.
suite() {
	local build=$1 type=$2
	shift 2
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE="$type" >/dev/null
	cmake --build "$build" -j"$(nproc)"
	(cd "$build" && SBX_BUILD_TYPE=$type ctest --output-on-failure "$@")
}

# The sentinel, around every phase that runs the end-to-end tests.
sentinel=0
case " $phases " in *" test "* | *" podman "* | *" asan "*) [ "${SBX_SENTINEL:-1}" = 1 ] && sentinel=1 ;; esac
export SBX_SENTINEL_OWNER=run.sh # the ctest copies of the sentinel tests skip
sentinel_run() { # setup|check
	SBX_SENTINEL_RUN=1 SBX_BUILD=${SBX_BUILD:-$src/build} "$src/tests/e2e/test_sentinel_$1.sh"
}
# Checked (and removed) however the run ends; a failed check fails the run.
sentinel_done=0
sentinel_finish() {
	local rc=$?
	if [ $sentinel = 1 ] && [ $sentinel_done = 0 ]; then
		sentinel_done=1
		sentinel_run check || rc=1
	fi
	exit $rc
}
trap sentinel_finish EXIT
start=$SECONDS
if [ $sentinel = 1 ]; then
	echo "=== tests/run.sh: sentinel setup (a \"real\" install on the machine's dockerd)"
	sentinel_run setup
fi

for phase in $phases; do
	echo "=== tests/run.sh: $phase"
	case $phase in
	static) "$src/tests/static.sh" ;;
	test) suite "${SBX_BUILD:-$src/build}" RelWithDebInfo -LE podman "$@" ;;
	podman) suite "${SBX_BUILD:-$src/build}" RelWithDebInfo -L podman "$@" ;;
	asan)
		# Where the sanitized programs write reports (see
		# libsshbox/sanitizer_options.c): the shim runs as the test users.
		reports=/var/tmp/sshbox-sanitizer
		rm -rf "$reports"
		mkdir -m 1777 "$reports"
		status=0
		suite "$src/build-asan" Asan -LE podman "$@" || status=$?
		if [ -n "$(ls -A "$reports")" ]; then
			echo "tests/run.sh: sanitizer reports:" >&2
			for f in "$reports"/*; do echo "--- $f" >&2; head -n 60 "$f" >&2; done
			status=1
		fi
		[ "$status" = 0 ] || exit "$status"
		;;
	fuzz) "$src/fuzz/run.sh" "${FUZZ_SECONDS:-60}" ;;
	*) echo "tests/run.sh: unknown phase \"$phase\" (static, test, podman, asan, fuzz)" >&2; exit 2 ;;
	esac
done
if [ $sentinel = 1 ]; then
	echo "=== tests/run.sh: sentinel check (the \"real\" install is untouched)"
	sentinel_done=1
	sentinel_run check
fi
echo "=== tests/run.sh: all phases passed ($phases) in $((SECONDS - start)) s;" \
	"no test was skipped for safety (each uses the suite's own dockerd, sshd and scratch installs)"
