// The covergan command line: subcommands register themselves (apps/cmd_*.cpp);
// every error becomes one sentence on stderr and a non-zero exit (in a distributed
// run: printed once, and every rank stops; engine/comm.h), including a failed write to
// standard output (a full disk, /dev/full): for msssim, info, classify, --profile and
// --dump-tape what they print is their result.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "apps/commands.h"
#include "base/check.h"
#include "engine/comm.h"

namespace {

// Only `train` (and `devices`, which reports each rank) know what to do as one of several
// ranks: every other command would run N times over the same files.
void refuse_under_launcher(const std::string& name) {
  const cg::LaunchInfo li = cg::launch_info();
  if (li.size <= 1 || name == "train" || name == "devices") return;
  if (li.rank != 0) std::exit(1);  // rank 0 says it once
  throw cg::Error("`covergan " + name + "` runs in one process; " + li.launcher + " started " +
                  std::to_string(li.size) + " of it. Only `covergan train` trains data-parallel across ranks.");
}

// 0 when everything printed reached standard output, else 1 after saying why.
int check_stdout(int rc) {
  errno = 0;
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return rc;
  const int err = errno;
  std::fprintf(stderr, "covergan: Cannot write to standard output: %s.\n",
               err ? std::strerror(err) : "a write failed");
  return 1;
}

}  // namespace

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
  int rc = 0;
  try {
    for (size_t i = 0; i < subs.size(); ++i)
      if (subs[i]->parsed()) {
        refuse_under_launcher(covergan::commands()[i].name);
        rc = check_stdout(covergan::commands()[i].run());
        break;
      }
  } catch (const cg::Error& e) {
    return cg::exit_after_error(e.what(), dynamic_cast<const cg::AgreedError*>(&e) != nullptr);
  } catch (const std::bad_alloc&) {
    return cg::exit_after_error("out of memory", false);
  } catch (const std::exception& e) {
    return cg::exit_after_error(e.what(), false);
  }
  if (cg::Comm::mpi_running()) cg::Comm::world().finalize();  // a distributed run ends MPI together
  return rc;
}
