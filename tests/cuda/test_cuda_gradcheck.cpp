// Every op of the gradcheck list (layers/gradcheck_ops.cpp, what `covergan gradcheck
// --device cuda` runs) passes its finite-difference check on the GPU in float: the CUDA
// backward against the CUDA forward, where the op table compares CUDA with the CPU.
#include "layers/gradcheck_ops.h"
#include "support/check.h"
#include "support/skip.h"

using namespace cg;

TEST_CASE("every op of the gradcheck list passes its finite-difference check on cuda in f32") {
  CG_SKIP_WITHOUT_CUDA();
  for (const OpGradcheck& e : gradcheck_ops()) {
    const OpGradcheckResult r = run_op_gradcheck(e, GradcheckTarget{DType::f32, Device::cuda}, 1);
    INFO(format_op_gradcheck(r));
    CHECK(r.ok);
  }
}
