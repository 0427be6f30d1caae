// The WebDriver client of the browser test (see webdriver.h).
#include "webdriver.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace servetest {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  const std::string path = v && *v ? v : fallback;
  return ::access(path.c_str(), X_OK) == 0 ? path : "";
}

const char* kElement = "element-6066-11e4-a52e-4f735466cecf";

}  // namespace

std::string chromium_path() { return env_or("COVERGAN_CHROMIUM", "/usr/bin/chromium"); }
std::string chromedriver_path() { return env_or("COVERGAN_CHROMEDRIVER", "/usr/bin/chromedriver"); }

std::string base64_decode(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : s) {
    const int v = val(c);
    if (v < 0) continue;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

Browser::Browser(const std::string& profile, const std::string& log) {
  port_ = free_port();
  driver_ = std::make_unique<Process>(
      std::vector<std::string>{chromedriver_path(), "--port=" + std::to_string(port_)}, log);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (http(port_, "/status", {}, "GET", 5).status != 200) {
    if (std::chrono::steady_clock::now() > until || driver_->wait(0) != -1)
      throw std::runtime_error("chromedriver did not start: " + driver_->log());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The flags that let chromium run as root, without a GPU, on a machine that reaches no network.
  const nlohmann::json args = {"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                               "--disable-background-networking", "--disable-component-update", "--disable-sync",
                               "--disable-dev-shm-usage", "--window-size=1280,2000", "--user-data-dir=" + profile};
  const nlohmann::json caps = {
      {"capabilities", {{"alwaysMatch", {{"goog:chromeOptions", {{"binary", chromium_path()}, {"args", args}}}}}}}};
  session_ = call("POST", "/session", caps)["sessionId"].get<std::string>();
}

Browser::~Browser() {
  if (!session_.empty()) {
    try {
      call("DELETE", "/session/" + session_);
    } catch (const std::exception&) {
    }
  }
}

nlohmann::json Browser::call(const std::string& method, const std::string& path, const nlohmann::json& body) {
  const Response r = http(port_, path, {}, method, 120, body.is_null() ? std::string() : body.dump());
  if (r.status == 0) throw std::runtime_error("chromedriver did not answer " + method + " " + path);
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("value"))
    throw std::runtime_error("chromedriver: " + method + " " + path + ": " + r.body.substr(0, 300));
  if (r.status != 200)
    throw std::runtime_error("chromedriver: " + method + " " + path + ": " + j["value"].dump().substr(0, 400));
  return j["value"];
}

void Browser::open(const std::string& url) { call("POST", "/session/" + session_ + "/url", {{"url", url}}); }

nlohmann::json Browser::eval(const std::string& script) {
  return call("POST", "/session/" + session_ + "/execute/sync", {{"script", script}, {"args", nlohmann::json::array()}});
}

std::string Browser::find(const std::string& css) {
  return call("POST", "/session/" + session_ + "/element", {{"using", "css selector"}, {"value", css}})[kElement];
}

void Browser::keys(const std::string& element, const std::string& text) {
  call("POST", "/session/" + session_ + "/element/" + element + "/value", {{"text", text}});
}

void Browser::click(const std::string& element) {
  call("POST", "/session/" + session_ + "/element/" + element + "/click", nlohmann::json::object());
}

Picture Browser::screenshot(const std::string& element) {
  const auto v = call("GET", "/session/" + session_ + "/element/" + element + "/screenshot");
  return decode(base64_decode(v.get<std::string>()));
}

}  // namespace servetest
