// The covergan command line: subcommands register themselves (apps/cmd_*.cpp);
// every error becomes one sentence on stderr and a non-zero exit.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "apps/commands.h"
#include "base/check.h"

int main(int argc, char** argv) {
  CLI::App app{"covergan: genre-conditioned AC-GAN album covers (Hepburn et al. 2017)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "covergan 0.1");
  std::vector<CLI::App*> subs;
  for (auto& cmd : covergan::commands()) {
    subs.push_back(app.add_subcommand(cmd.name, cmd.description));
    cmd.add_options(*subs.back());
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (size_t i = 0; i < subs.size(); ++i)
      if (subs[i]->parsed()) return covergan::commands()[i].run();
  } catch (const cg::Error& e) {
    std::fprintf(stderr, "covergan: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "covergan: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "covergan: %s\n", e.what());
    return 1;
  }
  return 0;
}
