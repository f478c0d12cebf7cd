#!/usr/bin/env bash
# The whole test suite on a Debian 12 machine, as root: installs what is
# missing, builds, brings up the test bed (dockerd, base image, sshd,
# watchdog, test users), runs unit and end-to-end tests, takes the bed down.
#   tests/run.sh [ctest args...]   (as root)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${SBX_BUILD:-$src/build}
[ "$(id -u)" = 0 ] || { echo "tests/run.sh: run as root (it starts dockerd and sshd, adds test users)" >&2; exit 1; }
"$src/installer/deps.sh" --test
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE="${SBX_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure "$@"
