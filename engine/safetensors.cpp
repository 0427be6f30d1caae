// safetensors writer and strict reader (format: github.com/huggingface/safetensors).
// The writer lays data out by descending element size, as the reference does, and
// pads the JSON header with spaces to a multiple of 8, so every tensor is aligned.
// The reader checks every length, offset and dtype before it trusts one.
#include "engine/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/io_util.h"

namespace cg {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; so must the host be");

namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // the reference implementation's limit

const char* st_dtype(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::i32: return "I32";
    case DType::u8: return "U8";
    case DType::bf16: return "BF16";  // never written: checkpoints keep the FP32 master weights
  }
  return "?";
}

bool parse_dtype(const std::string& s, DType& out) {
  for (DType t : {DType::f32, DType::f64, DType::i32, DType::u8})
    if (s == st_dtype(t)) {
      out = t;
      return true;
    }
  return false;
}

// Element size of a valid safetensors dtype that covergan does not hold in a Tensor; 0 if s is none.
size_t other_dtype_size(const std::string& s) {
  static const std::pair<const char*, size_t> kOthers[] = {
      {"BOOL", 1}, {"I8", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
      {"BF16", 2}, {"U32", 4}, {"I64", 8}, {"U64", 8}};
  for (const auto& [name, size] : kOthers)
    if (s == name) return size;
  return 0;
}

struct FileCloser {
  FILE* f = nullptr;
  ~FileCloser() {
    if (f) std::fclose(f);
  }
};

// ---- writing ----------------------------------------------------------------

[[noreturn]] void write_fail(const std::string& path, const std::string& tmp, const std::string& why) {
  std::remove(tmp.c_str());
  throw Error("cannot write checkpoint " + path + ": " + why);
}

void check_names(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    CG_USER_CHECK(!name.empty() && name != "__metadata__", "cannot write checkpoint ", path,
                  ": a tensor may not be named '", name, "'");
    CG_USER_CHECK(seen.insert(name).second, "cannot write checkpoint ", path, ": tensor '", name,
                  "' appears twice");
    CG_USER_CHECK(t.defined(), "cannot write checkpoint ", path, ": tensor '", name, "' is undefined");
  }
}

// The JSON header, metadata first, tensors in data order; padded with spaces to a multiple of 8.
std::string build_header(const std::vector<std::pair<std::string, Tensor>>& tensors, const std::vector<size_t>& order,
                         const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!metadata.empty()) j["__metadata__"] = metadata;
  uint64_t off = 0;
  for (size_t k : order) {
    const Tensor& t = tensors[k].second;
    std::vector<int64_t> shape(t.shape().d.begin(), t.shape().d.begin() + t.ndim());
    const uint64_t n = t.nbytes();
    j[tensors[k].first] = {{"dtype", st_dtype(t.dtype())}, {"shape", shape}, {"data_offsets", {off, off + n}}};
    off += n;
  }
  std::string h = j.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  return h;
}

std::string build_header_checked(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                                 const std::vector<size_t>& order, const std::map<std::string, std::string>& metadata) {
  try {
    return build_header(tensors, order, metadata);
  } catch (const nlohmann::json::exception&) {
    throw Error("cannot write checkpoint " + path + ": a tensor name or metadata string is not valid UTF-8");
  }
}

void fsync_dir_of(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);  // best effort: the rename is already in place
    ::close(fd);
  }
}

// ---- reading ----------------------------------------------------------------

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
  std::string other;  // non-empty: a valid dtype covergan does not hold (the bytes are skipped)
};

[[noreturn]] void corrupt(const std::string& path, const std::string& why) {
  throw Error("checkpoint " + path + " is corrupt: " + why);
}
[[noreturn]] void truncated(const std::string& path, const std::string& why) {
  throw Error("checkpoint " + path + " is truncated: " + why);
}

uint64_t get_u64(const std::string& path, const std::string& what, const nlohmann::json& v) {
  if (!v.is_number_unsigned()) corrupt(path, what + " is not a non-negative integer (" + v.dump() + ")");
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& v) {
  const std::string tn = "tensor '" + name + "'";
  if (!v.is_object()) corrupt(path, tn + " is not a JSON object");
  for (const auto& [k, _] : v.items())
    if (k != "dtype" && k != "shape" && k != "data_offsets") corrupt(path, tn + " has an unknown field '" + k + "'");
  if (!v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
    corrupt(path, tn + " lacks dtype, shape or data_offsets");
  Entry e{name, DType::f32, Shape(), 0, 0, ""};
  if (!v["dtype"].is_string()) corrupt(path, tn + " has a dtype that is not a string");
  const std::string ds = v["dtype"].get<std::string>();
  size_t elem = 0;
  if (parse_dtype(ds, e.dtype))
    elem = dtype_size(e.dtype);
  else if ((elem = other_dtype_size(ds)) > 0)
    e.other = ds;
  else
    corrupt(path, tn + " has dtype " + ds + ", which is not a safetensors dtype");
  const nlohmann::json& sh = v["shape"];
  if (!e.other.empty() && (!sh.is_array() || sh.size() > 8)) corrupt(path, tn + " has a bad shape " + sh.dump());
  if (e.other.empty() && (!sh.is_array() || sh.size() > 4))
    corrupt(path, tn + " needs a shape of at most 4 dimensions, got " + sh.dump());
  std::vector<int64_t> dims;
  uint64_t numel = 1;
  for (const auto& d : sh) {
    const uint64_t x = get_u64(path, tn + "'s shape entry", d);
    if (x > (1ull << 40) || __builtin_mul_overflow(numel, x, &numel) || numel > (1ull << 40))
      corrupt(path, tn + " has an impossibly large shape " + sh.dump());
    dims.push_back(static_cast<int64_t>(x));
  }
  if (e.other.empty()) e.shape = Shape::of(dims);
  if (!e.other.empty()) e.other += " " + sh.dump();
  const nlohmann::json& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2) corrupt(path, tn + " needs data_offsets [begin, end], got " + off.dump());
  e.begin = get_u64(path, tn + "'s data offset", off[0]);
  e.end = get_u64(path, tn + "'s data offset", off[1]);
  if (e.end < e.begin) corrupt(path, tn + " has data_offsets " + off.dump() + " that end before they begin");
  const uint64_t want = numel * elem;
  if (e.end - e.begin != want)
    corrupt(path, tn + " (" + ds + " " + sh.dump() + ") needs " + std::to_string(want) +
                      " bytes but its data_offsets " + off.dump() + " span " + std::to_string(e.end - e.begin));
  return e;
}

// Parses the JSON header; duplicate top-level names are an error (the JSON library keeps the last).
nlohmann::json parse_header_json(const std::string& path, const std::string& text) {
  if (text.empty() || text[0] != '{') corrupt(path, "its header does not start with '{'");
  std::set<std::string> seen;
  std::string dup;
  auto cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    if (ev == nlohmann::json::parse_event_t::key && depth == 1 && !seen.insert(parsed.get<std::string>()).second)
      dup = parsed.get<std::string>();
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, cb);
  } catch (const nlohmann::json::exception& e) {
    corrupt(path, std::string("its header is not valid JSON (") + e.what() + ")");
  }
  if (!dup.empty()) corrupt(path, "its header names '" + dup + "' twice");
  if (!j.is_object()) corrupt(path, "its header is not a JSON object");
  return j;
}

std::vector<Entry> parse_entries(const std::string& path, const nlohmann::json& j, SafeTensors& out) {
  std::vector<Entry> entries;
  for (const auto& [k, v] : j.items()) {
    if (k == "__metadata__") {
      if (!v.is_object()) corrupt(path, "its __metadata__ is not an object of strings");
      for (const auto& [mk, mv] : v.items()) {
        if (!mv.is_string()) corrupt(path, "its __metadata__ entry '" + mk + "' is not a string");
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, k, v));
  }
  return entries;
}

// The data must be covered exactly: sorted by offset, each tensor starts where the last ended.
void check_layout(const std::string& path, std::vector<Entry>& entries, uint64_t data_bytes) {
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t pos = 0;
  for (const Entry& e : entries) {
    if (e.begin != pos)
      corrupt(path, "tensor '" + e.name + "' starts at data offset " + std::to_string(e.begin) + " but the data before it " +
                        (e.begin > pos ? "leaves a gap" : "overlaps it") + " (expected " + std::to_string(pos) + ")");
    pos = e.end;
  }
  if (pos > data_bytes)
    truncated(path, "its header describes " + std::to_string(pos) + " bytes of tensor data but only " +
                        std::to_string(data_bytes) + " follow");
  if (pos < data_bytes)
    corrupt(path, std::to_string(data_bytes - pos) + " bytes follow the last tensor's data");
}

}  // namespace

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  check_names(path, tensors);
  std::vector<std::pair<std::string, Tensor>> host;
  host.reserve(tensors.size());
  for (const auto& [name, t] : tensors) host.emplace_back(name, t.to(Device::cpu));
  // Widest elements first so each tensor's offset is a multiple of its element size.
  std::vector<size_t> order(host.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return dtype_size(host[a].second.dtype()) > dtype_size(host[b].second.dtype());
  });
  const std::string header = build_header_checked(path, host, order, metadata);

  const std::string tmp = temp_path(path);
  FileCloser fc;
  fc.f = std::fopen(tmp.c_str(), "wb");
  if (!fc.f) write_fail(path, tmp, "cannot create " + tmp + " (" + std::strerror(errno) + ")");
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));
  // put: fwrite, or ENOSPC from the test hook that simulates a full disk.
  auto put = [&](const void* p, size_t n) {
    if (injected_write_failure(tmp, n)) {
      errno = ENOSPC;
      return false;
    }
    return std::fwrite(p, 1, n, fc.f) == n;
  };
  bool ok = put(len, 8) && put(header.data(), header.size());
  for (size_t k : order) {
    const Tensor& t = host[k].second;
    if (ok && t.nbytes() > 0) ok = put(t.raw(), t.nbytes());
  }
  if (!ok || std::fflush(fc.f) != 0 || ::fsync(::fileno(fc.f)) != 0)
    write_fail(path, tmp, "writing " + tmp + " failed (" + std::strerror(errno) + ")");
  const int rc = std::fclose(fc.f);
  fc.f = nullptr;
  if (rc != 0) write_fail(path, tmp, "closing " + tmp + " failed (" + std::strerror(errno) + ")");
  injected_write_delay();
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    write_fail(path, tmp, "renaming " + tmp + " into place failed (" + std::strerror(errno) + ")");
  fsync_dir_of(path);
}

namespace {

// Where the bytes come from: a file read sequentially, or a buffer in memory.
struct ByteSource {
  FILE* f = nullptr;
  const uint8_t* mem = nullptr;
  uint64_t size = 0, pos = 0;
  bool read(void* dst, uint64_t n) {
    if (n > size - pos) return false;
    if (mem) {
      std::memcpy(dst, mem + pos, n);
    } else if (n > 0 && std::fread(dst, 1, n, f) != n) {
      return false;
    }
    pos += n;
    return true;
  }
  bool skip(uint64_t n) {
    if (n > size - pos) return false;
    if (!mem && n > 0 && std::fseek(f, long(n), SEEK_CUR) != 0) return false;
    pos += n;
    return true;
  }
};

SafeTensors parse_source(const std::string& path, ByteSource& src) {
  const uint64_t size = src.size;
  if (size < 8) truncated(path, "it has " + std::to_string(size) + " bytes, fewer than the 8-byte header length");
  uint8_t len[8];
  if (!src.read(len, 8)) truncated(path, "reading its header length failed");
  if (len[0] == 0x89 && len[1] == 'C' && len[2] == 'G' && len[3] == 'D')
    throw Error("The file " + path + " is a covergan dataset (.cgd), not a checkpoint (.safetensors).");
  // A safetensors file opens with a little-endian length whose high bytes are zero; text
  // (a JSON or CSV file given by mistake) has printable bytes there.
  if (len[0] == '{' || len[0] == '[') throw Error("The file " + path + " is a JSON file, not a checkpoint (.safetensors).");
  if (len[7] >= 0x20 && len[7] < 0x7F && len[6] >= 0x20 && len[6] < 0x7F)
    throw Error("The file " + path + " holds text, not a checkpoint (.safetensors).");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  if (n > kMaxHeader) corrupt(path, "its header length " + std::to_string(n) + " is over the 100 MiB limit");
  if (n > size - 8)
    truncated(path, "its header length says " + std::to_string(n) + " bytes but only " + std::to_string(size - 8) +
                        " follow");
  std::string text(n, '\0');
  if (n > 0 && !src.read(text.data(), n)) truncated(path, "reading its header failed");
  SafeTensors out;
  std::vector<Entry> entries = parse_entries(path, parse_header_json(path, text), out);
  check_layout(path, entries, size - 8 - n);
  for (const Entry& e : entries) {  // sorted by offset: one sequential read
    const uint64_t bytes = e.end - e.begin;
    if (!e.other.empty()) {
      if (!src.skip(bytes)) truncated(path, "skipping tensor '" + e.name + "' failed");
      out.unsupported.emplace(e.name, e.other);
      continue;
    }
    Tensor t = Tensor::empty(e.shape, e.dtype, Device::cpu);
    if (bytes > 0 && !src.read(t.raw(), bytes)) truncated(path, "reading tensor '" + e.name + "' failed");
    t.set_name(e.name);
    out.tensors.emplace(e.name, t);
  }
  return out;
}

}  // namespace

SafeTensors load_safetensors(const std::string& path) {
  require_regular_file(path, "cannot read checkpoint");
  FileCloser fc;
  fc.f = std::fopen(path.c_str(), "rb");
  if (!fc.f) throw Error("cannot read checkpoint " + path + ": " + std::strerror(errno));
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error("cannot read checkpoint " + path + ": " + ec.message());
  ByteSource src;
  src.f = fc.f;
  src.size = size;
  return parse_source(path, src);
}

SafeTensors parse_safetensors(const uint8_t* data, size_t n, const std::string& name) {
  ByteSource src;
  src.mem = data;
  src.size = n;
  return parse_source(name, src);
}

int64_t count_nonfinite(const Tensor& t, int64_t* first_bad) {
  if (!t.defined() || (t.dtype() != DType::f32 && t.dtype() != DType::f64)) return 0;
  const Tensor h = t.device() == Device::cpu ? t : t.to(Device::cpu);
  int64_t bad = 0;
  auto scan = [&](auto* p) {
    for (int64_t i = 0; i < h.numel(); ++i)
      if (!std::isfinite(p[i])) {
        if (bad++ == 0 && first_bad) *first_bad = i;
      }
  };
  if (h.dtype() == DType::f32)
    scan(h.data<float>());
  else
    scan(h.data<double>());
  return bad;
}

}  // namespace cg
