#!/usr/bin/env bash
# Installs the system services the test suite and the demo use: a real MQTT broker
# (mosquitto) and a real RTSP server (gst-rtsp-server through the system Python's GObject
# bindings). Idempotent; needs root or sudo on Debian/Ubuntu. Elsewhere it says what to do.
set -euo pipefail

PKGS=(mosquitto python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-tools
      gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly
      gstreamer1.0-plugins-bad gstreamer1.0-libav
      systemd  # systemd-analyze: tests verify the unit and score its hardening
      chromium)  # the device page's browser test (Playwright drives it: no browser download)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "install_test_deps: no apt-get here; install these yourself: ${missing[*]}" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install_test_deps: run as root or install sudo; needed: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install_test_deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package enables a system broker; tests start their own on a free port.
command -v systemctl >/dev/null && $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true
