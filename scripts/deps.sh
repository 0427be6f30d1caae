#!/usr/bin/env bash
# Installs covergan's Debian build and test dependencies when any is missing.
# Sourced by scripts/test and scripts/demo; needs root (or sudo) for apt-get.
set -euo pipefail
COVERGAN_DEPS=(build-essential cmake ninja-build pkg-config ccache
  libopenblas-dev libpng-dev libjpeg62-turbo-dev libturbojpeg0-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev doctest-dev libbenchmark-dev libopenmpi-dev openmpi-bin
  python3 python3-numpy python3-scipy python3-torch python3-pil python3-skimage
  fonts-noto-color-emoji python3-fonttools unicode-data
  libcpp-httplib-dev libjs-chart.js
  graphviz libcairo2-dev fonts-dejavu-core)
# scripts/test sets COVERGAN_DEPS_BROWSER=1: the real-browser test of `covergan serve`
# drives Debian's chromium through chromedriver (it skips where they are missing).
if [ "${COVERGAN_DEPS_BROWSER:-0}" = "1" ]; then COVERGAN_DEPS+=(chromium chromium-driver); fi
missing=()
for p in "${COVERGAN_DEPS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "covergan: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
