// The doctest main shared by every test binary. It guards against two silent passes:
// a run whose filter matched no test case (a ctest entry whose name CMake split at a
// ';') fails, and a test name holding ';' fails the listing that ctest discovery runs.
// A run where every case skipped itself (the CUDA suite without a GPU) exits 77, which
// ctest reports as "Skipped"; one where some cases ran and some skipped passes, and
// says how many skipped on its last line.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <string>

#include "support/skip.h"

namespace {

struct RunRecord {
  std::string current;             // the test case running now
  std::set<std::string> skipped;   // cases that called CG_SKIP
  unsigned cases_run = 0;          // cases that passed the filters and started
  bool run_ended = false;
  std::string bad_names;           // names holding ';', seen while listing
};
RunRecord& record() {
  static RunRecord r;
  return r;
}

// Counts what ran; checks the names a listing reports.
struct Guard : doctest::IReporter {
  explicit Guard(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData& q) override {
    for (unsigned i = 0; i < q.num_data; ++i)
      if (q.data[i] && q.data[i]->m_name && std::strchr(q.data[i]->m_name, ';'))
        record().bad_names += std::string("\n  \"") + q.data[i]->m_name + "\"";
  }
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override { record().run_ended = true; }
  void test_case_start(const doctest::TestCaseData& tc) override {
    record().current = tc.m_name;
    ++record().cases_run;
  }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("covergan_guard", 1, Guard);

}  // namespace

namespace cgtest {
void note_skipped(const std::string& reason) {
  if (record().skipped.insert(record().current).second)
    std::printf("[skipped] %s: %s\n", record().current.c_str(), reason.c_str());
}
int skipped_count() { return int(record().skipped.size()); }
}  // namespace cgtest

int main(int argc, char** argv) {
  doctest::Context ctx(argc, argv);
  const int rc = ctx.run();
  const RunRecord& r = record();
  if (!r.bad_names.empty()) {
    std::fprintf(stderr,
                 "covergan tests: test names must not contain ';' (CMake splits ctest entries there, and "
                 "the halves run nothing); rename:%s\n",
                 r.bad_names.c_str());
    return 2;
  }
  if (ctx.shouldExit() || !r.run_ended) return rc;  // --list-test-cases, --help, ...
  if (r.cases_run == 0) {
    std::fprintf(stderr, "covergan tests: no test case matched the filters, so nothing was tested: FAIL\n");
    return rc != 0 ? rc : 3;
  }
  std::printf("[covergan] %u test case%s ran, %d of them skipped\n", r.cases_run, r.cases_run == 1 ? "" : "s",
              cgtest::skipped_count());
  if (rc == 0 && unsigned(cgtest::skipped_count()) == r.cases_run) return 77;
  return rc;
}
