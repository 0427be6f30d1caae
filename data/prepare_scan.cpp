// Finding the files for `prepare` and their genres: the first folder level under
// each source, a path,genre CSV manifest, or no labels. Hidden files and folders
// (names starting with '.') are ignored; everything else is either queued for
// decoding or reported as skipped.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <system_error>

#include "data/dataset.h"
#include "data/prepare.h"
#include "engine/io_util.h"

namespace cg::data {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

bool hidden(const fs::path& p) {
  const std::string n = p.filename().string();
  return !n.empty() && n[0] == '.' && n != "." && n != "..";
}

std::string abs_key(const fs::path& p) {
  std::error_code ec;
  fs::path a = fs::absolute(p, ec);
  return (ec ? p : a).lexically_normal().generic_string();
}

// A relative path without ./ segments ("./rock/a.jpg" -> "rock/a.jpg"); "" when empty.
std::string rel_key(const fs::path& p) {
  if (p.empty()) return "";
  std::string k = p.lexically_normal().generic_string();
  while (k.rfind("./", 0) == 0) k = k.substr(2);
  return k == "." ? "" : k;
}

// Bytes that are not printable ASCII as \xNN, so a message shows what a bad name holds.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F) {
      out += char(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02X", c);
      out += b;
    }
  }
  return out;
}

// Every regular, non-hidden file under root (or root itself when it is a file).
void walk(const fs::path& root, std::vector<ScanEntry>& out, std::vector<SkippedFile>& skipped) {
  std::error_code ec;
  if (fs::is_regular_file(root, ec)) {
    out.push_back({root.string(), "", -1});
    return;
  }
  auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
  CG_USER_CHECK(!ec, "Cannot read the source folder ", root.string(), ": ", ec.message(), ".");
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      skipped.push_back({root.string(), SkipKind::unreadable, "unreadable: " + ec.message()});
      ec.clear();
      continue;
    }
    const fs::directory_entry& e = *it;
    if (hidden(e.path())) {
      if (e.is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (e.is_directory(ec)) continue;
    const std::string rel = e.path().lexically_relative(root).generic_string();
    if (e.is_regular_file(ec)) {
      out.push_back({e.path().string(), rel, -1});
    } else {
      skipped.push_back({e.path().string(), SkipKind::unreadable, "unreadable: not a regular file"});
    }
  }
}

void label_by_folder(ScanResult& r, std::vector<ScanEntry>& found) {
  std::set<std::string> names;
  for (const auto& e : found) {
    const auto slash = e.rel.find('/');
    if (slash != std::string::npos) names.insert(e.rel.substr(0, slash));
  }
  r.genres.assign(names.begin(), names.end());
  for (const auto& g : r.genres)
    CG_USER_CHECK(valid_utf8(g), "The genre folder '", printable(g),
                  "' has a name that is not UTF-8 text; rename it (genre names are stored as text).");
  for (auto& e : found) {
    const auto slash = e.rel.find('/');
    if (slash == std::string::npos) {
      r.skipped.push_back({e.path, SkipKind::unlabeled, "no label: not inside a genre folder (SOURCE/<genre>/...)"});
      continue;
    }
    const std::string g = e.rel.substr(0, slash);
    e.label = int32_t(std::lower_bound(r.genres.begin(), r.genres.end(), g) - r.genres.begin());
    r.entries.push_back(e);
  }
}

// A row matches a file by its path relative to its source, its path from the current
// folder, or its path from the manifest's folder (./ and ../ allowed in each). Two rows
// giving one file different genres are an error; genres only named by rows that match
// no file are not classes.
void label_by_manifest(ScanResult& r, std::vector<ScanEntry>& found, const std::string& csv) {
  const auto rows = read_manifest(csv);
  const fs::path csv_dir = fs::path(csv).parent_path();
  std::map<std::string, size_t> key_to_row;
  for (size_t i = 0; i < rows.size(); ++i) {
    const fs::path p(rows[i].first);
    for (const std::string& k : {rel_key(p), abs_key(p), abs_key(csv_dir / p)}) {
      auto [it, fresh] = key_to_row.emplace(k, i);
      CG_USER_CHECK(fresh || rows[it->second].second == rows[i].second, "The manifest ", csv, " gives ",
                    rows[i].first, " two genres ('", rows[it->second].second, "' and '", rows[i].second,
                    "'); keep one row per image.");
    }
  }
  std::vector<char> used(rows.size(), 0);
  std::vector<std::pair<ScanEntry, size_t>> hits;
  for (auto& e : found) {
    const size_t* hit = nullptr;
    for (const std::string& k : {rel_key(e.rel), abs_key(e.path)}) {
      auto it = key_to_row.find(k);
      if (!k.empty() && it != key_to_row.end()) {
        hit = &it->second;
        break;
      }
    }
    if (!hit) {
      r.skipped.push_back({e.path, SkipKind::unlabeled, "no label: not listed in the manifest " + csv});
      continue;
    }
    used[*hit] = 1;
    hits.emplace_back(e, *hit);
  }
  std::set<std::string> names;
  for (const auto& [e, row] : hits) names.insert(rows[row].second);
  r.genres.assign(names.begin(), names.end());
  for (const auto& g : r.genres) {
    CG_USER_CHECK(valid_utf8(g), "The manifest ", csv, " names a genre that is not UTF-8 text ('", printable(g), "').");
    const std::string why = genre_name_problem(g);
    CG_USER_CHECK(why.empty(), "The manifest ", csv, " names the genre '", printable(g),
                  "', which cannot be part of a file name (", why, "); rename it.");
  }
  for (auto& [e, row] : hits) {
    e.label = int32_t(std::lower_bound(r.genres.begin(), r.genres.end(), rows[row].second) - r.genres.begin());
    r.entries.push_back(e);
  }
  for (size_t i = 0; i < rows.size(); ++i)
    if (!used[i]) r.manifest_unmatched.push_back(rows[i].first);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> read_manifest(const std::string& csv_path) {
  require_regular_file(csv_path, "Cannot read the label manifest");
  std::ifstream in(csv_path);
  CG_USER_CHECK(in.good(), "Cannot read the label manifest ", csv_path, ".");
  std::vector<std::pair<std::string, std::string>> rows;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line_no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line = line.substr(3);  // a UTF-8 byte-order mark
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    auto f = split_csv_line(t);
    for (auto& s : f) s = trim(s);
    if (rows.empty() && f.size() == 2 && f[0] == "path" && f[1] == "genre") continue;  // header row
    CG_USER_CHECK(f.size() == 2 && !f[0].empty() && !f[1].empty(), "Line ", line_no, " of the manifest ", csv_path,
                  " is not 'path,genre'.");
    rows.emplace_back(f[0], f[1]);
  }
  CG_USER_CHECK(!rows.empty(), "The label manifest ", csv_path, " lists no images.");
  return rows;
}

ScanResult scan_sources(const PrepareOptions& opt) {
  CG_USER_CHECK(!opt.sources.empty(), "Name at least one source folder of images.");
  ScanResult r;
  std::vector<ScanEntry> found;
  for (const auto& src : opt.sources) {
    std::error_code ec;
    CG_USER_CHECK(fs::exists(src, ec), "The source folder ", src, " does not exist.");
    walk(fs::path(src), found, r.skipped);
  }
  std::sort(found.begin(), found.end(), [](const ScanEntry& a, const ScanEntry& b) { return a.path < b.path; });
  r.files = int64_t(found.size());
  switch (opt.labels) {
    case LabelSource::folders: label_by_folder(r, found); break;
    case LabelSource::csv: label_by_manifest(r, found, opt.labels_csv); break;
    case LabelSource::none: r.entries = std::move(found); break;
  }
  return r;
}

}  // namespace cg::data
