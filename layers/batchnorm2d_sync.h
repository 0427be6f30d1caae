// Synchronised batch norm (--sync-bn, docs/DISTRIBUTED.md): in training mode each layer
// normalises with the mean and variance of the whole global batch, the per-channel sums
// all-reduced across the ranks in the forward, and the sums its input gradient needs
// all-reduced in the backward; gamma's and beta's gradients stay this rank's share (the
// gradient all-reduce adds them). So N ranks with global batch B compute what one
// process with batch B computes. Outside a SyncBatchNormScope nothing changes.
#pragma once
#include "engine/comm.h"
#include "engine/tape.h"

namespace cg {

// While alive (on the training thread), batch_norm2d and batch_norm2d_act in training
// mode synchronise over comm (a world of one too: the same numbers as without); a null
// comm leaves them as they are.
// The backward of a synchronised record must run inside the same scope.
class SyncBatchNormScope {
 public:
  explicit SyncBatchNormScope(Comm* comm);
  ~SyncBatchNormScope();
  SyncBatchNormScope(const SyncBatchNormScope&) = delete;
  SyncBatchNormScope& operator=(const SyncBatchNormScope&) = delete;

 private:
  Comm* prev_;
};

// The communicator of the innermost live scope, or null.
Comm* sync_batch_norm_comm();

// batch_norm2d_act in training mode over the global batch (slope 1: plain batch norm);
// layers/batchnorm2d.cpp calls it when a scope is live. Records "batch_norm2d_sync".
Tensor batch_norm2d_sync(Tape* tape, const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor running_mean,
                         Tensor running_var, double momentum, double eps, double slope);

}  // namespace cg
