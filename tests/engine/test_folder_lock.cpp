// engine/folder_lock.h and temp_path: one process per output folder, and temporary names
// that two writers of one file never share (issue 22, item 5: two `train --out R` both
// passed the "folder already holds a run" check, and died renaming one config.json.tmp).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "base/check.h"
#include "engine/folder_lock.h"
#include "engine/io_util.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;

TEST_CASE("folder lock: a second holder is refused with the first one's command and a released lock is free again") {
  cgtest::TempDir dir("lock");
  const std::string f = dir / "run";
  {
    cg::FolderLock a(f, "train");
    CHECK(a.held());
    CHECK(a.created_folder());
    CHECK(fs::exists(f + "/" + cg::FolderLock::file_name()));
    // flock locks belong to the open file: a second open, even in this process, is refused.
    try {
      cg::FolderLock b(f, "eval");
      FAIL("two locks on one folder");
    } catch (const cg::Error& e) {
      const std::string m = e.what();
      CHECK(m.find("in use by another covergan process") != std::string::npos);
      CHECK(m.find("`covergan train`") != std::string::npos);
    }
    // Another process is refused too.
    const pid_t pid = ::fork();
    if (pid == 0) {
      try {
        cg::FolderLock c(f, "eval");
      } catch (const cg::Error&) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    CHECK(WEXITSTATUS(st) == 3);
  }
  CHECK_FALSE(fs::exists(f + "/" + cg::FolderLock::file_name()));  // released: the file goes
  cg::FolderLock again(f, "train");
  CHECK(again.held());
  CHECK_FALSE(again.created_folder());
}

TEST_CASE("folder lock: a folder the lock made goes again when nothing was written and a file in the way is named") {
  cgtest::TempDir dir("lock2");
  cg::FolderLock a(dir / "new/deeper", "eval");
  a.release_and_remove_if_empty();
  CHECK_FALSE(a.held());
  CHECK_FALSE(fs::exists(dir / "new/deeper"));
  std::ofstream(dir / "file") << "x";
  CHECK_THROWS_WITH_AS(cg::FolderLock(dir / "file", "eval"), doctest::Contains("a file of that name exists"),
                       cg::Error);
}

TEST_CASE("temp_path: unique per call and per process and recognised as a temporary file of its target") {
  std::set<std::string> names;
  for (int i = 0; i < 100; ++i) names.insert(cg::temp_path("/x/config.json"));
  CHECK(names.size() == 100);
  const std::string mine = cg::temp_path("/x/config.json");
  CHECK(mine.find(".tmp-" + std::to_string(::getpid()) + "-") != std::string::npos);
  CHECK(cg::is_temp_name(fs::path(mine).filename().string(), "config.json"));
  CHECK(cg::is_temp_name("config.json.tmp", "config.json"));
  CHECK_FALSE(cg::is_temp_name("config.json", "config.json"));
  CHECK_FALSE(cg::is_temp_name("config.json.tmpx", "config.json"));
}
