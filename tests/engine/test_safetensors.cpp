// safetensors: round trips of every dtype with metadata, the on-disk layout the
// format specifies, and one clear error naming the file for each kind of damage;
// a failed write leaves the previous checkpoint intact.
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "support/check.h"
#include "support/temp_dir.h"

using namespace cg;
namespace fs = std::filesystem;

namespace {

using TempDir = cgtest::TempDir;  // tests/support/temp_dir.h

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64le(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>(n >> (8 * i));
  return s;
}

// A file with the given JSON header (unpadded) and data bytes.
std::string make_file(const std::string& header, const std::string& data) { return u64le(header.size()) + header + data; }

std::vector<std::pair<std::string, Tensor>> sample_tensors() {
  Tensor f32 = Tensor::from({1.5, -2.25, 3.0, 1e-30, -0.0, 7.0}, Shape{2, 3});
  Tensor f64 = Tensor::from({3.141592653589793, -1e300}, Shape{2}, DType::f64);
  Tensor i32 = Tensor::from({-7, 0, 2147483647, -2147483648.0}, Shape{1, 2, 2}, DType::i32);
  Tensor u8 = Tensor::from({0, 1, 254, 255, 128}, Shape{5}, DType::u8);
  Tensor scalar = Tensor::from({42.0}, Shape{}, DType::f32);
  Tensor empty = Tensor::empty(Shape{0, 3});
  Tensor img = Tensor::empty(Shape{2, 3, 4, 4});
  for (int64_t i = 0; i < img.numel(); ++i) img.data<float>()[i] = static_cast<float>(i) * 0.25f - 3.f;
  return {{"u8.pixels", u8},        {"G.fc.weight", f32}, {"D.conv2.bn.running_mean", f64}, {"step", i32},
          {"scalar", scalar},       {"empty", empty},     {"G.deconv1.weight", img}};
}

void check_same(const SafeTensors& st, const std::vector<std::pair<std::string, Tensor>>& want) {
  REQUIRE(st.tensors.size() == want.size());
  for (const auto& [name, t] : want) {
    INFO("tensor " << name);
    REQUIRE(st.tensors.count(name) == 1);
    const Tensor& got = st.tensors.at(name);
    CHECK(got.dtype() == t.dtype());
    CHECK(got.shape() == t.shape());
    CHECK(got.ndim() == t.ndim());
    CHECK(got.device() == Device::cpu);
    CHECK(got.to_vector() == t.to_vector());
    CHECK(got.name() == name);
  }
}

#define CHECK_LOAD_FAILS(path, ...)                                                                       \
  do {                                                                                                    \
    std::string msg_;                                                                                     \
    try {                                                                                                 \
      load_safetensors(path);                                                                             \
    } catch (const cg::Error& e_) {                                                                       \
      msg_ = e_.what();                                                                                   \
    }                                                                                                     \
    INFO("message: " << msg_);                                                                            \
    CHECK(msg_.find("checkpoint " + std::string(path)) != std::string::npos);                             \
    for (const char* part_ : {__VA_ARGS__}) CHECK(msg_.find(part_) != std::string::npos);                 \
  } while (0)

}  // namespace

TEST_CASE("safetensors round trip: every dtype, scalars, empty tensors, metadata") {
  TempDir td;
  const std::string path = td.file("ckpt.safetensors");
  const auto ts = sample_tensors();
  const std::map<std::string, std::string> meta = {
      {"config", R"({"batch": 128, "genres": ["Jazz", "Rock"]})"}, {"step", "1200"}, {"note", "caf\xc3\xa9 \"q\"\n"}};
  save_safetensors(path, ts, meta);
  CHECK(cgtest::temp_files_of(path).empty());
  const SafeTensors st = load_safetensors(path);
  check_same(st, ts);
  CHECK(st.metadata == meta);
  // Overwriting replaces the file.
  save_safetensors(path, {{"only", Tensor::from({1, 2}, Shape{2})}});
  const SafeTensors st2 = load_safetensors(path);
  CHECK(st2.tensors.size() == 1);
  CHECK(st2.metadata.empty());
}

TEST_CASE("safetensors layout follows the format: u64 header size, space-padded JSON, aligned offsets") {
  TempDir td;
  const std::string path = td.file("layout.safetensors");
  const auto ts = sample_tensors();
  save_safetensors(path, ts, {{"format", "pt"}});
  const std::string bytes = read_all(path);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[static_cast<size_t>(i)])) << (8 * i);
  CHECK(n % 8 == 0);
  const std::string header = bytes.substr(8, n);
  CHECK(header[0] == '{');
  const size_t last = header.find_last_not_of(' ');
  CHECK(header[last] == '}');
  const auto j = nlohmann::json::parse(header);
  CHECK(j["__metadata__"]["format"] == "pt");
  CHECK(j["G.fc.weight"]["dtype"] == "F32");
  CHECK(j["G.fc.weight"]["shape"] == nlohmann::json::array({2, 3}));
  CHECK(j["D.conv2.bn.running_mean"]["dtype"] == "F64");
  CHECK(j["step"]["dtype"] == "I32");
  CHECK(j["u8.pixels"]["dtype"] == "U8");
  CHECK(j["scalar"]["shape"] == nlohmann::json::array());
  uint64_t total = 0;
  for (const auto& [k, v] : j.items()) {
    if (k == "__metadata__") continue;
    const uint64_t b = v["data_offsets"][0], e = v["data_offsets"][1];
    const uint64_t es = v["dtype"] == "F64" ? 8 : v["dtype"] == "U8" ? 1 : 4;
    INFO("tensor " << k);
    CHECK((8 + n + b) % es == 0);  // every tensor aligned to its element size in the file
    total += e - b;
  }
  CHECK(bytes.size() == 8 + n + total);
  // The raw bytes are little-endian values: f64 pi at its offset.
  const uint64_t off = j["D.conv2.bn.running_mean"]["data_offsets"][0];
  double pi = 0;
  std::memcpy(&pi, bytes.data() + 8 + n + off, 8);
  CHECK(pi == 3.141592653589793);
}

TEST_CASE("safetensors reads files from other writers: unpadded header, offsets out of key order") {
  TempDir td;
  const std::string path = td.file("other.safetensors");
  float a[2] = {1.f, 2.f};
  uint8_t b[3] = {9, 8, 7};
  std::string data(reinterpret_cast<const char*>(b), 3);
  data += std::string(reinterpret_cast<const char*>(a), 8);
  write_all(path, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[3,11]},)"
                            R"("b":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}})",
                            data));
  const SafeTensors st = load_safetensors(path);
  CHECK(st.tensors.at("a").to_vector() == std::vector<double>{1, 2});
  CHECK(st.tensors.at("b").to_vector() == std::vector<double>{9, 8, 7});
}

TEST_CASE("safetensors: a truncated file is a clear error at every cut") {
  TempDir td;
  const std::string good = td.file("good.safetensors");
  save_safetensors(good, sample_tensors(), {{"k", "v"}});
  const std::string bytes = read_all(good);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[static_cast<size_t>(i)])) << (8 * i);
  const std::string path = td.file("cut.safetensors");
  for (size_t cut : {size_t{0}, size_t{5}, size_t{8}, size_t{8 + n / 2}, size_t{8 + n}, bytes.size() - 1}) {
    INFO("cut at " << cut << " of " << bytes.size());
    write_all(path, bytes.substr(0, cut));
    CHECK_LOAD_FAILS(path, "is truncated");
  }
  write_all(path, bytes + "xyz");
  CHECK_LOAD_FAILS(path, "is corrupt", "3 bytes follow the last tensor");
}

TEST_CASE("safetensors: header length larger than the file, or absurdly large") {
  TempDir td;
  const std::string path = td.file("len.safetensors");
  write_all(path, u64le(1000) + "{}");
  CHECK_LOAD_FAILS(path, "is truncated", "header length says 1000 bytes but only 2 follow");
  write_all(path, u64le(uint64_t{1} << 63) + "{}");
  CHECK_LOAD_FAILS(path, "is corrupt", "over the 100 MiB limit");
}

TEST_CASE("safetensors: every flipped header byte is an error or a still-valid file, never a crash") {
  TempDir td;
  const std::string good = td.file("good.safetensors");
  save_safetensors(good, {{"w", Tensor::from({1, 2, 3}, Shape{3})}, {"b", Tensor::from({4}, Shape{1}, DType::u8)}});
  const std::string bytes = read_all(good);
  const std::string path = td.file("flip.safetensors");
  int errors = 0;
  for (size_t i = 8; i < bytes.size() - 13; ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x55);
    write_all(path, bad);
    try {
      load_safetensors(path);
    } catch (const cg::Error& e) {
      ++errors;
      CHECK(std::string(e.what()).find("checkpoint " + path) != std::string::npos);
    }
  }
  CHECK(errors > 0);
  std::string bad = bytes;
  bad[8] = '[';  // the header's opening brace
  write_all(path, bad);
  CHECK_LOAD_FAILS(path, "is corrupt", "does not start with '{'");
}

TEST_CASE("safetensors: bad headers each get their own sentence") {
  TempDir td;
  const std::string path = td.file("bad.safetensors");
  const std::string d8(8, '\0');
  struct Case {
    std::string header, data;
    std::vector<const char*> parts;
  };
  const std::vector<Case> cases = {
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", d8, {"not valid JSON"}},
      {R"(["a"])", d8, {"does not start with '{'"}},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
       std::string(12, '\0'), {"tensor 'b' starts at data offset 8", "gap"}},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       d8, {"overlaps"}},
      {R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8, {"needs 12 bytes", "span 8"}},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", d8, {"end before they begin"}},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", d8, {"not a non-negative integer"}},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0.5,8]}})", d8, {"not a non-negative integer"}},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", d8, {"needs data_offsets [begin, end]"}},
      {R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", d8, {"is truncated", "16 bytes of tensor data"}},
      // BF16, F16, I64...: valid dtypes, listed in SafeTensors::unsupported (tests/gan/test_hardening.cpp)
      {R"({"a":{"dtype":"Q7","shape":[4],"data_offsets":[0,8]}})", d8, {"dtype Q7", "not a safetensors dtype"}},
      {R"({"a":{"dtype":"F32","shape":[1,1,1,1,2],"data_offsets":[0,8]}})", d8, {"at most 4 dimensions"}},
      {R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", d8, {"impossibly large"}},
      {R"({"a":{"dtype":"F32","shape":[2]}})", d8, {"lacks dtype, shape or data_offsets"}},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", d8, {"unknown field 'extra'"}},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})",
       d8, {"names 'a' twice"}},
      {R"({"__metadata__":{"step":12},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", d8,
       {"__metadata__ entry 'step' is not a string"}},
      {R"({"a":[1,2]})", d8, {"tensor 'a' is not a JSON object"}},
  };
  for (const Case& c : cases) {
    INFO("header " << c.header);
    write_all(path, make_file(c.header, c.data));
    for (const char* part : c.parts) CHECK_LOAD_FAILS(path, part);
  }
}

TEST_CASE("safetensors: missing files and directories") {
  TempDir td;
  const std::string missing = td.file("nope.safetensors");
  CHECK_THROWS_WITH_AS(load_safetensors(missing), doctest::Contains(("cannot read checkpoint " + missing).c_str()),
                       cg::Error);
  CHECK_THROWS_WITH_AS(load_safetensors(td.path().string()), doctest::Contains("it is a directory"), cg::Error);
}

TEST_CASE("safetensors: a failed write leaves the old checkpoint intact") {
  TempDir td;
  const std::string path = td.file("run.safetensors");
  const auto old = sample_tensors();
  save_safetensors(path, old, {{"step", "1"}});
  const std::vector<std::pair<std::string, Tensor>> fresh = {{"w", Tensor::from({9, 9}, Shape{2})}};
  // The write fails part-way: a file-size limit stands in for a full disk (it binds root too).
  {
    struct rlimit was {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &was) == 0);
    struct rlimit small = was;
    small.rlim_cur = 16;
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    CHECK_THROWS_WITH_AS(save_safetensors(path, fresh), doctest::Contains(("cannot write checkpoint " + path).c_str()),
                         cg::Error);
    ::setrlimit(RLIMIT_FSIZE, &was);
    std::signal(SIGXFSZ, old_handler);
  }
  CHECK(cgtest::temp_files_of(path).empty());
  check_same(load_safetensors(path), old);
  // An unwritable directory (root can write anywhere, so only checked as a normal user).
  if (::geteuid() != 0) {
    fs::permissions(td.path(), fs::perms::owner_read | fs::perms::owner_exec);
    CHECK_THROWS_WITH_AS(save_safetensors(path, fresh), doctest::Contains("cannot write checkpoint"), cg::Error);
    fs::permissions(td.path(), fs::perms::owner_all);
    check_same(load_safetensors(path), old);
  }
  // Writing into a directory that does not exist.
  const std::string nodir = td.file("no/such/dir/x.safetensors");
  CHECK_THROWS_WITH_AS(save_safetensors(nodir, fresh), doctest::Contains("cannot create"), cg::Error);
}

TEST_CASE("safetensors: bad tensor lists are refused before anything is written") {
  TempDir td;
  const std::string path = td.file("names.safetensors");
  const Tensor t = Tensor::from({1}, Shape{1});
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"a", t}, {"a", t}}), doctest::Contains("'a' appears twice"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"__metadata__", t}}), doctest::Contains("may not be named"),
                       cg::Error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"u", Tensor()}}), doctest::Contains("'u' is undefined"), cg::Error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"t", t}}, {{"bad", "\xff\xfe"}}), doctest::Contains("not valid UTF-8"),
                       cg::Error);
  CHECK_FALSE(fs::exists(path));
  CHECK(cgtest::temp_files_of(path).empty());
}
