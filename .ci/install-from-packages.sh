#!/usr/bin/env bash
# Packages every publishable crate and installs the two binaries from their .crate files, as
# `cargo install lakebase-cli` / `cargo install lakebase-emulator` would from crates.io.
#
# The packages depend on each other by version, and those versions are not on crates.io (yet):
# `cargo package` resolves the siblings through its local overlay, and the installs patch
# crates.io with the unpacked packages (`--config patch.crates-io.<crate>.path=...`), so what is
# built is exactly what would be uploaded, with the packaged Cargo.lock (`--locked`).
#
# Cost: `--no-verify` (the installs are the verification: they build the packaged sources),
# `--debug` (the dev profile, sharing CARGO_TARGET_DIR's dependency artifacts with the test
# build where features agree; a release build here would compile every dependency again).
set -euo pipefail
cd "$(dirname "$0")/.."

crates=(lakebase-generated lakebase lakebase-postgres lakebase-emulator lakebase-cli)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
target=${CARGO_TARGET_DIR:-$PWD/target}
started=$SECONDS

package_args=()
for crate in "${crates[@]}"; do package_args+=(-p "$crate"); done
cargo package --no-verify "${package_args[@]}" "$@"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
patches=()
for crate in "${crates[@]}"; do
  tar -xzf "$target/package/$crate-$version.crate" -C "$scratch"
  patches+=(--config "patch.crates-io.$crate.path=\"$scratch/$crate-$version\"")
done

for crate in lakebase-cli lakebase-emulator; do
  cargo install --locked --debug --no-track --quiet --root "$scratch/root" \
    --path "$scratch/$crate-$version" "${patches[@]}"
done

test "$("$scratch/root/bin/lakebase" --version)" = "lakebase $version"
test "$("$scratch/root/bin/lakebase-emulator" --version)" = "lakebase-emulator $version"
"$scratch/root/bin/lakebase" --version
"$scratch/root/bin/lakebase-emulator" --version
echo "packaged ${#crates[@]} crates, installed lakebase and lakebase-emulator from them in $((SECONDS - started)) s"
