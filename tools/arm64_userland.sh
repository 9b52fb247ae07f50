#!/usr/bin/env bash
# Build an arm64 Debian userland with arm64 Python, numpy, ONNX Runtime and ExecuTorch, run under qemu-user.
#
#   sudo tools/arm64_userland.sh [ROOT]      # default ROOT: $LUTNAS_ARM64_ROOT or /var/cache/lutnas/arm64-root
#   sudo PYTHON=.venv/bin/python tools/arm64_userland.sh     # the Python whose pip downloads the wheels
#
# What an ARM Linux board running adbd (or a rooted phone with a Python) has, made from Debian's packages
# and PyPI's aarch64 wheels: debootstrap (bookworm, Python 3.11) -> qemu-aarch64-static inside the root as
# the binfmt interpreter -> this host's pip downloads the pinned aarch64 wheels and unpacks them there. Needs root, Debian's
# qemu-user-static and debootstrap (installed here when missing), and the package registries. Runs once:
# a ROOT that already has every package is left alone (delete it to rebuild). Timings under emulation mean
# nothing; this userland proves that the arm64 code runs and gives the same outputs (README).
set -euo pipefail
root=${1:-${LUTNAS_ARM64_ROOT:-/var/cache/lutnas/arm64-root}}
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# the pinned runtimes (executorch without its own requirements: those are its export tools) ...
wheels=(numpy==2.4.6 onnxruntime==1.32.0 torch==2.13.0 executorch==1.5.1)
# ... what they import at run time, and the CUDA libraries PyPI's aarch64 torch wheel loads at import
# (it is a CUDA build; nothing runs on a GPU here)
deps=(typing-extensions sympy filelock jinja2 networkx fsspec flatbuffers packaging protobuf markupsafe ruamel.yaml pyyaml tabulate
      "cuda-toolkit[cublas,cudart,cufft,cufile,cupti,curand,cusolver,cusparse,nvjitlink,nvrtc,nvtx]==13.0.3"
      nvidia-cudnn-cu13==9.20.0.48 nvidia-cusparselt-cu13==0.8.1 nvidia-nccl-cu13==2.29.7
      nvidia-nvshmem-cu13==3.4.5)
python=${PYTHON:-python3}  # this host's Python with pip: it downloads and unpacks the aarch64 wheels
say() { echo "[arm64-userland] $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "error: needs root (debootstrap, chroot, binfmt_misc)" >&2; exit 2; }
if [ -f "$root/.lutnas-ready" ]; then say "$root is ready (remove it to rebuild)"; exit 0; fi
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -x /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static binfmt-support)
if [ ${#need[@]} -gt 0 ]; then
  say "apt-get install ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2
fi
# arm64 programs run transparently once binfmt_misc knows qemu-aarch64
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
interp=$(sed -n 's/^interpreter //p' /proc/sys/fs/binfmt_misc/qemu-aarch64)

start=$(date +%s)
if [ ! -x "$root/usr/bin/python3" ]; then
  say "debootstrap $suite arm64 into $root"
  mkdir -p "$root"
  debootstrap --arch=arm64 --foreign --variant=minbase --include=python3 \
    "$suite" "$root" "$mirror" >&2
  # the kernel looks the interpreter up inside the chroot (no F flag): put qemu there
  mkdir -p "$root$(dirname "$interp")"
  cp /usr/bin/qemu-aarch64-static "$root$interp"
  cp /usr/bin/qemu-aarch64-static "$root/usr/bin/qemu-aarch64-static"
  say "second stage (dpkg under qemu)"
  chroot "$root" /debootstrap/debootstrap --second-stage >&2
fi
mkdir -p "$root$(dirname "$interp")"
[ -x "$root$interp" ] || cp /usr/bin/qemu-aarch64-static "$root$interp"
# this host's pip (its certificates reach the registry) downloads the aarch64 wheels and unpacks them into
# the root's site-packages: a wheel holds no code that runs at install time, so nothing needs emulating
cache="$root/var/cache/lutnas-wheels"
site="$root/usr/local/lib/python3.11/dist-packages"
mkdir -p "$cache" "$site"
platform=(--only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 --platform manylinux2014_aarch64)
for glibc in $(seq 17 36); do platform+=(--platform "manylinux_2_${glibc}_aarch64"); done  # bookworm: glibc 2.36
say "pip download (aarch64 wheels): ${wheels[*]} ${deps[*]}"
"$python" -m pip download -q --no-deps -d "$cache" "${platform[@]}" "${wheels[@]}" >&2
"$python" -m pip download -q -d "$cache" "${platform[@]}" "${deps[@]}" >&2
say "unpack into $site"
"$python" -m pip install -q --no-deps --upgrade --target "$site" "${platform[@]}" "$cache"/*.whl >&2
rm -rf "$cache"
# Under qemu-aarch64 -L a guest path is looked up in ROOT first, then on this host. The arm64 runtimes read
# the CPU description (pytorch/cpuinfo in ONNX Runtime and XNNPACK): this host's x86 /proc/cpuinfo makes
# ONNX Runtime's import crash, so the root answers as an ARM CPU (one Cortex-A76 entry per host core).
: > "$root/proc/cpuinfo"
for cpu in $(seq 0 $(( $(nproc --all) - 1 ))); do
  printf 'processor\t: %s\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0b\nCPU revision\t: 0\n\n' \
    "$cpu" >> "$root/proc/cpuinfo"
  mkdir -p "$root/sys/devices/system/cpu/cpu$cpu/regs/identification"
  echo 0x00000000413fd0b0 > "$root/sys/devices/system/cpu/cpu$cpu/regs/identification/midr_el1"
done
say "check: import every runtime in the arm64 Python"
qemu-aarch64-static -L "$root" "$root/usr/bin/python3" -c "import platform, numpy, onnxruntime, torch, executorch.runtime; \
print(platform.machine(), 'numpy', numpy.__version__, 'onnxruntime', onnxruntime.__version__, 'torch', torch.__version__)"
mkdir -p "$root/data/local/tmp"
touch "$root/.lutnas-ready"
say "ready: $root ($(( $(date +%s) - start )) s)"
