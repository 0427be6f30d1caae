// The subcommand registry (see commands.h).
#include "apps/commands.h"

namespace covergan {
std::vector<Command>& commands() {
  static std::vector<Command> v;
  return v;
}
}  // namespace covergan
