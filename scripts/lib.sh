# Shared by scripts/*: idempotent installation of what vodesk needs on a Debian machine (run as root, or
# with sudo available). Each step checks first and installs only what is missing. Source it; don't run it.

VODESK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VODESK_VENV="$VODESK_ROOT/.venv"
# Rust edition 2024 and the locked dependencies need this toolchain or newer.
VODESK_MIN_RUST="1.95"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "installing packages needs root: run this script as root (or install sudo)"; fi
}

_apt_updated=""
# ensure_apt PKG...: installs the Debian packages that are not installed yet.
ensure_apt() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get to install them"
    say "Installing Debian packages: ${missing[*]}"
    if [ -z "$_apt_updated" ]; then as_root apt-get update -qq; _apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The Rust toolchain and the C toolchain that -sys crates (aws-lc-sys) build with.
ensure_build_deps() {
    ensure_apt build-essential pkg-config ca-certificates git
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        say "Installing Rust through Debian's rustup"
        ensure_apt rustup
        rustup default stable >/dev/null || die "rustup could not install the stable toolchain"
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    local have
    have="$(rustc --version | awk '{print $2}')"
    if [ "$(printf '%s\n%s\n' "$VODESK_MIN_RUST" "$have" | sort -V | head -n1)" != "$VODESK_MIN_RUST" ]; then
        if command -v rustup >/dev/null 2>&1; then
            say "Rust $have is older than $VODESK_MIN_RUST: updating the stable toolchain"
            rustup update stable >/dev/null || die "rustup could not update Rust to $VODESK_MIN_RUST"
        else
            die "Rust $have is too old: vodesk needs $VODESK_MIN_RUST or newer (install it with rustup)"
        fi
    fi
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >/dev/null 2>&1 || true
}

# Libraries the window needs at run time (winit and glow load them dynamically).
ensure_gui_runtime_deps() {
    ensure_apt libgl1 libegl1 libgl1-mesa-dri libx11-6 libxcursor1 libxi6 libxrandr2 libxkbcommon0 libxkbcommon-x11-0 \
        libwayland-client0 libwayland-egl1 fonts-dejavu-core
}

# What the headless UI tests (tests/it/app_ui.rs) render their snapshots with: wgpu on Vulkan, through
# the Vulkan loader (libvulkan1, which wgpu opens at run time) and Mesa's software driver lavapipe
# (mesa-vulkan-drivers; it runs on the CPU, so no GPU or display is needed). The checked-in snapshot
# images are made with it.
ensure_ui_test_deps() {
    ensure_apt libvulkan1 mesa-vulkan-drivers
}

# The local stack's encoder and probe (Debian's ffmpeg with libx264, and the MediaInfo CLI the solution
# itself uses), and ffprobe for the end-to-end tests.
ensure_media_tools() {
    ensure_apt ffmpeg mediainfo
}

# The pinned moto server in $VODESK_VENV, reinstalled only when the requirements change.
ensure_emulator() {
    local req="$VODESK_ROOT/scripts/requirements-emulator.txt"
    local stamp="$VODESK_VENV/.vodesk-requirements"
    if [ -x "$VODESK_VENV/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
        export VODESK_EMULATOR_PYTHON="$VODESK_VENV/bin/python"
        return 0
    fi
    command -v python3 >/dev/null 2>&1 || ensure_apt python3
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then ensure_apt python3-venv; fi
    say "Installing the local AWS emulator (moto, pinned) into .venv/"
    [ -x "$VODESK_VENV/bin/python" ] || python3 -m venv "$VODESK_VENV" || die "could not create $VODESK_VENV"
    "$VODESK_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req" \
        || die "could not install the emulator's packages from $req"
    cp "$req" "$stamp"
    export VODESK_EMULATOR_PYTHON="$VODESK_VENV/bin/python"
}

# ---------------------------------------------------------------------------------------------------------
# Strict S3 server and benchmark tools (used by scripts/test and scripts/bench-upload).

VODESK_TOOLS="$VODESK_ROOT/.tools"
# s3s-fs checks SigV4 and PutObject checksums for real, unlike moto; tests/it/common/strict_s3.rs runs it.
VODESK_S3S_FS_VERSION="0.14.1"

# The pinned s3s-fs in .tools/bin, built from crates.io only when it is missing or another version.
ensure_s3s_fs() {
    local bin="$VODESK_TOOLS/bin/s3s-fs"
    if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "s3s-fs $VODESK_S3S_FS_VERSION" ]; then
        export VODESK_S3S_FS="$bin"
        return 0
    fi
    say "Installing s3s-fs $VODESK_S3S_FS_VERSION (the strict S3 test server) into .tools/ (a few minutes)"
    mkdir -p "$VODESK_TOOLS"
    local log="$VODESK_TOOLS/install-s3s-fs.log"
    # --force: replaces another version in place; the log is shown only if the build fails.
    cargo install s3s-fs --version "$VODESK_S3S_FS_VERSION" --features binary --locked --force \
        --root "$VODESK_TOOLS" >"$log" 2>&1 \
        || { tail -n 30 "$log" >&2; die "could not install s3s-fs $VODESK_S3S_FS_VERSION (log: $log)"; }
    export VODESK_S3S_FS="$bin"
}

# What scripts/bench-upload needs: GNU time (/usr/bin/time -v for peak RSS), curl (the discard server's
# /__stats), aws-cli pinned in scripts/requirements-bench.txt (into .venv/, next to moto: awscli 1.46
# vendors its own botocore, so the two pin sets do not conflict), and the release builds of vodesk and of
# the discard S3 endpoint (examples/s3_discard.rs). With --only-aws-cli, vodesk's binary is not built
# (aws-cli measured alone).
ensure_bench_tools() {
    ensure_apt time curl
    ensure_emulator
    local req="$VODESK_ROOT/scripts/requirements-bench.txt"
    local stamp="$VODESK_VENV/.vodesk-bench-requirements"
    if ! { [ -x "$VODESK_VENV/bin/aws" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; }; then
        say "Installing aws-cli (pinned) into .venv/"
        "$VODESK_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req" \
            || die "could not install the benchmark's packages from $req"
        cp "$req" "$stamp"
    fi
    export VODESK_AWS_CLI="$VODESK_VENV/bin/aws"
    say "Building the discard S3 endpoint (release)"
    (cd "$VODESK_ROOT" && cargo build --release --locked --quiet --example s3_discard) \
        || die "could not build examples/s3_discard.rs"
    export VODESK_S3_DISCARD="$VODESK_ROOT/target/release/examples/s3_discard"
    if [ "${1:-}" != "--only-aws-cli" ]; then
        say "Building vodesk (release)"
        (cd "$VODESK_ROOT" && cargo build --release --locked --quiet --bin vodesk) \
            || die "could not build vodesk (cargo build --release --bin vodesk)"
    fi
    export VODESK_RELEASE_BIN="$VODESK_ROOT/target/release/vodesk"
}

# ---------------------------------------------------------------------------------------------------------
# The Debian package (scripts/package, scripts/test-package).

# Pinned: the [package.metadata.deb] keys in Cargo.toml are checked against this version.
VODESK_CARGO_DEB_VERSION="3.8.0"

# What scripts/package and scripts/test-package need: cargo-deb (pinned, into .tools/, built only when it
# is missing or another version), rsvg-convert (librsvg2-bin) to render the icons, dpkg-dev (cargo-deb's
# `$auto` Depends come from dpkg-shlibdeps), and the validators of the installed files
# (desktop-file-validate from desktop-file-utils, appstreamcli from appstream). Exports VODESK_CARGO_DEB.
ensure_package_tools() {
    ensure_apt librsvg2-bin desktop-file-utils appstream dpkg-dev
    local bin="$VODESK_TOOLS/bin/cargo-deb"
    if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "cargo-deb $VODESK_CARGO_DEB_VERSION" ]; then
        export VODESK_CARGO_DEB="$bin"
        return 0
    fi
    say "Installing cargo-deb $VODESK_CARGO_DEB_VERSION into .tools/ (about a minute)"
    mkdir -p "$VODESK_TOOLS"
    local log="$VODESK_TOOLS/install-cargo-deb.log"
    # --force: replaces another version in place; the log is shown only if the build fails.
    cargo install cargo-deb --version "$VODESK_CARGO_DEB_VERSION" --locked --force \
        --root "$VODESK_TOOLS" >"$log" 2>&1 \
        || { tail -n 30 "$log" >&2; die "could not install cargo-deb $VODESK_CARGO_DEB_VERSION (log: $log)"; }
    export VODESK_CARGO_DEB="$bin"
}
