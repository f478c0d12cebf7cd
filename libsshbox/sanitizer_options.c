/* Built into every program of an Asan build (CMAKE_BUILD_TYPE=Asan) and no
 * other: the sanitizers' defaults. The shim runs under sshd, which clears the
 * environment, so ASAN_OPTIONS cannot reach it: reports go to files in one
 * world-writable directory that tests/run.sh creates and then checks is
 * empty.
 *
 * Leak checking is off: on this project's test machines LeakSanitizer's
 * stop-the-world at exit hung the shim under sshd (its tracer attached, the
 * shim never stopped), which wedged sessions. Leaks in the shim are checked
 * by valgrind instead (tests/e2e/test_valgrind.sh), and the watchdog's memory
 * under load by tests/e2e/test_bounded.sh. */
#define SANITIZER_DIR "/var/tmp/sshbox-sanitizer"

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__lsan_default_options(void);

const char *__asan_default_options(void)
{
	return "log_path=" SANITIZER_DIR "/asan:halt_on_error=1:detect_leaks=0:"
	       "detect_stack_use_after_return=1:strict_string_checks=1";
}

const char *__ubsan_default_options(void)
{
	return "log_path=" SANITIZER_DIR "/ubsan:print_stacktrace=1:halt_on_error=1";
}

const char *__lsan_default_options(void)
{
	return "log_path=" SANITIZER_DIR "/lsan";
}
