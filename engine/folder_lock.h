// One covergan process per output folder: a run folder (train), a report folder (eval),
// a classifier folder (classify) is locked with flock(2) on FOLDER/.covergan.lock while
// a command writes into it. The kernel drops the lock when the process ends, crash or
// not, so a stale lock file never blocks anyone; a second process gets one sentence.
// Test hook: with COVERGAN_LOCK_HOLD_MS set, taking the lock sleeps that long afterwards,
// so a test of two processes racing for one folder sees them overlap on any machine.
#pragma once
#include <string>

namespace cg {

class FolderLock {
 public:
  FolderLock() = default;
  // Creates the folder (and its parents) when missing, then takes the lock or throws
  // cg::Error: "The folder F is in use by another covergan process (pid P: `what`) ...".
  // what names this process's command in the lock file, for the other one's message.
  FolderLock(const std::string& folder, const std::string& what);
  ~FolderLock();
  FolderLock(FolderLock&& o) noexcept;
  FolderLock& operator=(FolderLock&& o) noexcept;
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

  bool held() const { return fd_ >= 0; }
  // True when this lock created the folder (it did not exist before).
  bool created_folder() const { return created_; }
  // On failure before anything was written: releases the lock and removes the folder
  // again when this lock created it and it holds nothing else.
  void release_and_remove_if_empty();
  static const char* file_name() { return ".covergan.lock"; }

 private:
  std::string folder_, path_;
  int fd_ = -1;
  bool created_ = false;
  void release();
};

}  // namespace cg
