// What the server may read from a run folder, and reading it so that nothing
// outside the folder is ever handed out: '..', hidden names, odd characters and
// absolute paths are refused from the text, and a file reached through a symlink
// that leads out is refused from where the opened file really lies.
#pragma once
#include <cstdint>
#include <string>

namespace cg::serve {

// Throws HttpError (400, one sentence) unless rel is a plain relative path: segments
// of [A-Za-z0-9._-] separated by single '/', none empty, none starting with '.',
// at most 512 characters. rel has been percent-decoded once (by the HTTP layer);
// a '%' left in it (double encoding) is refused like any other odd character.
void check_relative_path(const std::string& rel);

// The Content-Type of a served file, from its extension; "" when files of that kind
// are not served (checkpoints, temporary files, anything unknown).
std::string content_type_for(const std::string& name);

struct FileBytes {
  std::string bytes;
  int64_t mtime_ns = 0;
};

// Reads root/rel (root: a folder's realpath) after check_relative_path. The file is
// opened first and then where it really lies is read back (/proc/self/fd), so a
// symlink swapped in after the check still cannot lead out. Throws HttpError: 404
// (missing, not a regular file), 403 (lies outside root), 413 (over max_bytes).
FileBytes read_run_file(const std::string& root, const std::string& rel, size_t max_bytes);

// realpath(path), or "" when it does not resolve.
std::string real_path(const std::string& path);

}  // namespace cg::serve
