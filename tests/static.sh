#!/usr/bin/env bash
# Static checks over the whole tree: clang-format, clang-tidy, cppcheck,
# ShellCheck. Prints each finding; exits 1 naming every failing tool and file.
#   tests/static.sh
# SBX_STATIC_BUILD: where cmake is configured for compile_commands.json
# (default build-static in the source tree, ignored by git); SBX_STATIC_JOBS: parallel jobs.
# Settings live beside the code: .clang-format, .clang-tidy, .shellcheckrc.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${SBX_STATIC_BUILD:-$src/build-static}
jobs=${SBX_STATIC_JOBS:-$(nproc)}
cd "$src" || exit 1

for tool in clang-format clang-tidy cppcheck shellcheck cmake jq pkg-config; do
	command -v "$tool" >/dev/null ||
		{ echo "static: $tool is not installed" >&2; exit 1; }
done

failures=()
fail() { failures+=("$1: $2"); } # TOOL FILE
log=$(mktemp -d /tmp/sshbox-static.XXXXXX)
trap 'rm -rf "$log"' EXIT

# The tree's files, without .git and build directories.
tree() { find . \( -name .git -o -type d -name 'build*' \) -prune -o -type f "$@" -print0 | sort -z; }
mapfile -d '' c_sources < <(tree -name '*.c')
mapfile -d '' c_files < <(tree \( -name '*.c' -o -name '*.h' \))
# Shell scripts: *.sh, and executables whose first line is a sh or bash shebang.
sh_files=()
while IFS= read -r -d '' f; do
	case $f in
	*.sh) sh_files+=("$f") ;;
	*) [ -x "$f" ] && head -n1 "$f" | grep -qE '^#!.*[/ ](ba|da)?sh([[:space:]]|$)' && sh_files+=("$f") ;;
	esac
done < <(tree)

# Lines "FILE:LINE..." of a tool's output -> the distinct files, as failures.
fail_files() { # TOOL < OUTPUT
	local f
	while IFS= read -r f; do fail "$1" "${f#./}"; done < <(grep -oE '^[^: ]+\.[a-z]+:[0-9]+:' | cut -d: -f1 | sort -u)
}

# 1. clang-format: every .c and .h is formatted as .clang-format says.
echo "static: clang-format, ${#c_files[@]} files"
for f in "${c_files[@]}"; do
	if ! clang-format --dry-run -Werror "$f" >"$log/format" 2>&1; then
		head -n 20 "$log/format"
		fail clang-format "${f#./}"
	fi
done

# 2. clang-tidy (.clang-tidy): each translation unit with its flags from
# compile_commands.json; a .c file cmake does not build here (fuzz/, which
# needs clang) with the project's flags.
echo "static: clang-tidy, ${#c_sources[@]} files, $jobs at a time"
if cmake -S "$src" -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$log/cmake" 2>&1; then
	declare -A in_db=()
	while IFS= read -r f; do in_db[$f]=1; done < <(jq -r '.[].file' "$build/compile_commands.json")
	read -ra pkg_flags < <(pkg-config --cflags jansson libcurl libssh uuid)
	fallback=(-std=c11 -D_GNU_SOURCE -I"$src/libsshbox" -I"$src/shim" -I"$src/watchdog" -Wall -Wextra -Wshadow
		-Wformat=2 -Wno-unused-parameter "${pkg_flags[@]}")
	db_tus=() other_tus=()
	for f in "${c_sources[@]}"; do
		f=$src/${f#./}
		if [ -n "${in_db[$f]:-}" ]; then db_tus+=("$f"); else other_tus+=("$f"); fi
	done
	tidy() { # FILE [-- FLAGS...]: its findings in $log/tidy.*, a failure marked .failed
		local out
		out=$log/tidy.$(printf '%s' "${1#"$src"/}" | tr / _)
		clang-tidy --quiet -p "$build" --extra-arg=-Wno-unknown-warning-option "$@" >"$out" 2>&1 ||
			echo "$1" >"$out.failed"
	}
	export -f tidy
	export src build log
	# shellcheck disable=SC2016 # the inner bash expands its arguments
	printf '%s\0' "${db_tus[@]}" | xargs -0 -r -P "$jobs" -n 1 bash -c 'tidy "$1"' _
	# shellcheck disable=SC2016 # likewise
	printf '%s\0' "${other_tus[@]}" |
		xargs -0 -r -P "$jobs" -I{} bash -c 'tidy "$@"' _ {} -- "${fallback[@]}"
	for failed in "$log"/tidy.*.failed; do
		[ -e "$failed" ] || continue
		grep -vE '^[0-9]+ (warnings?|errors?)( and [0-9]+ errors?)? generated\.$' "${failed%.failed}"
		f=$(cat "$failed")
		fail clang-tidy "${f#"$src"/}"
	done
else
	cat "$log/cmake"
	fail clang-tidy "(cmake could not configure $build)"
fi

# 3. cppcheck: warnings, portability and performance; a finding is
# suppressed only inline (// cppcheck-suppress ID) with the reason beside it.
echo "static: cppcheck, ${#c_sources[@]} files"
mapfile -t inc < <(tree -name '*.h' | xargs -0 -n1 dirname | sort -u | sed 's/^/-I/')
if ! cppcheck -q -j "$jobs" --std=c11 -D_GNU_SOURCE "${inc[@]}" --enable=warning,portability,performance \
	--inline-suppr --error-exitcode=1 --template='{file}:{line}: {severity}: {id}: {message}' \
	"${c_sources[@]}" >"$log/cppcheck" 2>&1; then
	cat "$log/cppcheck"
	fail_files cppcheck <"$log/cppcheck"
	grep -qE '^[^: ]+\.[a-z]+:[0-9]+:' "$log/cppcheck" || fail cppcheck "(no file named; see above)"
fi

# 4. shellcheck (.shellcheckrc), following sourced files.
echo "static: shellcheck, ${#sh_files[@]} files"
if ! shellcheck -x -f gcc "${sh_files[@]}" >"$log/shellcheck" 2>&1; then
	cat "$log/shellcheck"
	while IFS= read -r f; do fail shellcheck "${f#./}"; done < <(cut -d: -f1 "$log/shellcheck" | sort -u)
fi

if [ "${#failures[@]}" -gt 0 ]; then
	printf 'static: FAILED %s\n' "${failures[@]}" >&2
	exit 1
fi
echo "static: clean"
