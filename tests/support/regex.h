// <regex> for the tests that match output with it. GCC 12 warns inside libstdc++'s regex
// under the sanitizers (GCC bug 105616, a false positive in std::function's move); the
// push/pop keeps -Wmaybe-uninitialized everywhere else, in one place for every test.
#pragma once
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#pragma GCC diagnostic pop
