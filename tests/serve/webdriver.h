// A minimal W3C WebDriver client for the browser test: Debian's chromedriver driving
// Debian's chromium headless, over plain HTTP and JSON (no npm, no download). Only
// what the test needs: open a page, run a script, find an element, type keys into it,
// click it, and take its screenshot as it is on screen.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "serve_util.h"

namespace servetest {

// Where the browser and its driver are: $COVERGAN_CHROMIUM / $COVERGAN_CHROMEDRIVER, else
// Debian's /usr/bin/chromium and /usr/bin/chromedriver; "" when missing.
std::string chromium_path();
std::string chromedriver_path();

class Browser {
 public:
  // Starts chromedriver on a free port and a headless chromium session with the flags
  // that work on a closed network (docs/SERVE.md); profile is a fresh folder.
  Browser(const std::string& profile, const std::string& log);
  ~Browser();
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  void open(const std::string& url);
  // Runs a script (the body of a function; `return x` gives x back).
  nlohmann::json eval(const std::string& script);
  // The element's WebDriver id; throws when none matches.
  std::string find(const std::string& css);
  void keys(const std::string& element, const std::string& text);  // "\uE010" is End
  void click(const std::string& element);
  // The element as drawn on screen, as a decoded picture.
  Picture screenshot(const std::string& element);

 private:
  nlohmann::json call(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr);
  std::unique_ptr<Process> driver_;
  int port_ = 0;
  std::string session_;
};

std::string base64_decode(const std::string& s);

}  // namespace servetest
