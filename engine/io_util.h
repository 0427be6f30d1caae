// Small file-system guards shared by every reader and writer: refuse anything but a
// regular file before opening it (a FIFO would block forever), check that text is
// UTF-8, write small files atomically with the OS reason on failure, and a test
// hook that makes writes to chosen temporary files fail as on a full disk.
#pragma once
#include <string>
#include <string_view>

namespace cg {

// Throws cg::Error ("LEAD PATH: why", e.g. lead "Cannot open the dataset") unless path
// names a regular file (or a symlink to one). Checked with stat(), so a FIFO or device
// is never opened.
void require_regular_file(const std::string& path, const std::string& lead);

// True when s is well-formed UTF-8 (no overlong forms, no surrogates).
bool valid_utf8(std::string_view s);

// A temporary name beside path, unique to this process and call:
// PATH.tmp-<pid>-<n>. Two processes writing one file never share a temporary file, so
// the last rename wins whole; is_temp_name() recognises such names (and the older PATH.tmp).
std::string temp_path(const std::string& path);
bool is_temp_name(const std::string& file_name, const std::string& of);

// Throws one sentence ("Cannot write WHAT PATH: why.") unless a file can be written at path:
// its folder exists and takes a new file, and path is not a folder. Nothing is left behind.
// For outputs written only after long work (a profile's CSV), so a typo fails at once.
void check_writable(const std::string& path, const std::string& what);

// Writes contents to temp_path(path), flushes, fsyncs and renames onto path; on failure removes
// the temporary file and throws one sentence naming what (e.g. "the run's config") and
// the OS reason.
void write_file_atomic(const std::string& path, const std::string& contents, const std::string& what);

// Test hook for full-disk behaviour without a small filesystem: when the environment
// variable COVERGAN_FAIL_WRITES holds a substring of path, returns true once
// COVERGAN_FAIL_WRITES_AFTER bytes (default 0) have gone to such paths in this process;
// writers then fail as write(2) does with ENOSPC. Always false when the variable is unset.
bool injected_write_failure(const std::string& path, size_t bytes_about_to_write);

// Test hook for crash tests: sleeps COVERGAN_WRITE_DELAY_MS milliseconds when that
// variable is set, so a written-but-not-renamed PATH.tmp lasts long enough for a test
// to kill the process inside the write on any machine. No effect when unset.
void injected_write_delay();

}  // namespace cg
