// An output folder's earlier contents, set aside while a command writes a new set into it
// (eval's report): on success the new files replace the old ones of the same name and the
// rest come back; on failure the new files go and the old ones come back, so a failed
// command never leaves a mix of two reports and loses nothing that was there.
#pragma once
#include <set>
#include <string>
#include <vector>

namespace cg {

class EarlierOutput {
 public:
  // Moves the entries of folder named in names (those present) into folder/.earlier-PID;
  // the caller holds the folder's lock. Other entries stay where they are: a user's own
  // files beside a report are never moved. A kill leaves the moved ones there, whole.
  EarlierOutput(const std::string& folder, const std::vector<std::string>& names);
  ~EarlierOutput();  // neither kept nor restored (an exception is on its way): restore()
  EarlierOutput(const EarlierOutput&) = delete;
  EarlierOutput& operator=(const EarlierOutput&) = delete;

  // Success: earlier entries the new output replaced are deleted, the others come back.
  void keep_new();
  // Failure: entries that were not in the folder at the start go, and the earlier ones
  // come back.
  void restore();
  // The folder holding the earlier entries ("" when the folder held none).
  const std::string& aside() const { return aside_; }

 private:
  std::string folder_, aside_;
  std::set<std::string> kept_;  // entries left in the folder at the start
  bool done_ = false;
};

}  // namespace cg
