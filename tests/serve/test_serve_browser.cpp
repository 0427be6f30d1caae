// The page in a real browser: Debian's chromium, headless, driven by Debian's
// chromedriver over WebDriver. It opens the page of a short training the test
// starts, sees the curves drawn and growing, moves a latent-code slider with the
// keyboard and sees the cover on screen change, then clicks another genre and sees it
// change again. Without chromium and chromedriver it skips, saying what to install.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/skip.h"
#include "webdriver.h"

namespace fs = std::filesystem;

namespace {

template <class F>
bool wait_for(F cond, double timeout_s) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return cond();
}

// Pixels (of the smaller common area) whose colour differs.
int pixels_differing(const servetest::Picture& a, const servetest::Picture& b) {
  const int w = std::min(a.width, b.width), h = std::min(a.height, b.height);
  int n = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        if (a.rgb[size_t((y * a.width + x) * 3 + c)] != b.rgb[size_t((y * b.width + x) * 3 + c)]) {
          ++n;
          break;
        }
  return n;
}

int64_t number(const nlohmann::json& v) { return v.is_number() ? v.get<int64_t>() : -1; }

}  // namespace

TEST_CASE("serve: a browser sees the curves grow and the cover follow a slider and a genre") {
  if (servetest::chromium_path().empty() || servetest::chromedriver_path().empty())
    CG_SKIP("no browser: install Debian's chromium and chromium-driver (scripts/test does)");
  servetest::TinyData data;
  const std::string run = data.dir / "live";
  servetest::Process train(data.train_args(run, {"--steps", "1000000", "--epochs", "1000000", "--log-every", "5",
                                                 "--checkpoint-every", "200", "--sample-every", "200",
                                                 "--keep", "1000"}),
                           data.dir / "train.log");
  REQUIRE(wait_for([&] { return fs::exists(run + "/checkpoints/step_00000200.safetensors"); }, 120));
  servetest::ServeProcess srv({run}, data.dir / "serve.log");
  servetest::Browser browser(data.dir / "profile", data.dir / "chromedriver.log");
  browser.open("http://127.0.0.1:" + std::to_string(srv.port()) + "/run/live");

  // Curves: drawn (pixels on the canvas) and growing (more points on a later look).
  const char* points = "const p = window.coverganPage; return p && p.curves ? p.curves.pointCount() : 0;";
  REQUIRE(wait_for([&] { return number(browser.eval(points)) > 0; }, 60));
  const int64_t first = number(browser.eval(points));
  const int64_t inked = number(browser.eval(R"(
    const c = document.getElementById('chart-losses');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ++n; return n;)"));
  CHECK(inked > 500);
  CHECK(wait_for([&] { return number(browser.eval(points)) > first; }, 60));

  // Pin the checkpoint (the oldest, by its button in the checkpoint table), so the newest
  // one the training keeps writing cannot change the cover behind the test's back.
  const char* shown = "return Number(document.getElementById('cover').dataset.shown || 0);";
  REQUIRE(wait_for([&] { return number(browser.eval(shown)) >= 1; }, 60));
  browser.click(browser.find("#checkpoints tbody tr:last-child button"));
  REQUIRE(wait_for([&] { return browser.eval("return document.getElementById('ckpt').value;") == "200"; }, 30));
  REQUIRE(wait_for([&] { return browser.eval("return document.getElementById('cover-info').textContent;")
                                     .get<std::string>().find("step 200,") != std::string::npos; }, 60));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::string cover = browser.find("#cover");
  const servetest::Picture before = browser.screenshot(cover);
  REQUIRE(before.width >= 200);
  int64_t n = number(browser.eval(shown));

  // A code slider moved with the keyboard (End: to 1): a new cover, other pixels.
  browser.keys(browser.find("#code1"), "\xee\x80\x90");  // U+E010, WebDriver's End key
  CHECK(browser.eval("return document.getElementById('code1').value;") == "1");
  REQUIRE(wait_for([&] { return number(browser.eval(shown)) > n; }, 60));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const servetest::Picture moved = browser.screenshot(cover);
  CHECK(pixels_differing(before, moved) > 100);

  // Another genre: another cover, and the page says which.
  n = number(browser.eval(shown));
  browser.click(browser.find("#genres button[data-genre='1']"));
  REQUIRE(wait_for([&] { return number(browser.eval(shown)) > n; }, 60));
  CHECK(browser.eval("return document.getElementById('cover').dataset.genre;") == "1");
  CHECK(browser.eval("return document.querySelector('#genres button[aria-checked=true]').textContent;") == "blue");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(pixels_differing(moved, browser.screenshot(cover)) > 100);
  CHECK(browser.eval("return document.getElementById('error').hidden;") == true);
  MESSAGE("slider and genre to cover on screen (ms): "
          << browser.eval("return window.coverganPage.playground.latencies.map(x => Math.round(x)).join(' ');")
                 .get<std::string>());

  srv.proc().signal(SIGINT);
  CHECK(srv.proc().wait(20) == 0);
  train.signal(SIGINT);
  CHECK(train.wait(120) != -1);
}
