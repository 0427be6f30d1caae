// Helpers for the AC-GAN tests: a scratch folder, a synthetic labeled dataset of
// visually distinct classes, and running the built covergan binary.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "gan/trainer.h"
#include "support/paths.h"
#include "support/temp_dir.h"

namespace gantest {

// A fresh folder under the system temp dir, removed when the object goes.
using Scratch = cgtest::TempDir;  // tests/support/temp_dir.h

// Writes a .cgd of n images of size x size in the given genres (labeled) or
// unlabeled (genres empty). Genre g's images: class 0 bright red horizontal
// stripes, class 1 dark blue vertical stripes, further classes other hues and
// orientations, with random phase, stripe width and noise: easy to tell apart.
void write_striped_dataset(const std::string& path, int64_t n, int size, const std::vector<std::string>& genres,
                           uint32_t seed);

using CliResult = cgtest::ShellResult;  // output: stdout and stderr together
// Runs the covergan binary (cgtest::binary_dir(): $COVERGAN_BINARY_DIR, beside this test
// binary, or the build folder) with args (a shell word list, already quoted).
CliResult run_covergan(const std::string& args);

// gan::train of c for `steps` iterations into out, quiet and without signal handlers; a
// resume carries the run on with `steps` as its new end.
cg::gan::TrainResult train_for(cg::gan::TrainConfig c, const std::string& out, int64_t steps, bool resume,
                               bool force = false);

// Every tensor of checkpoint a equal to b's, bit for bit: one doctest CHECK per tensor, named.
void check_same_checkpoint(const std::string& a, const std::string& b);

// Bytes of a file ("" when missing).
std::string slurp(const std::string& path);

}  // namespace gantest
