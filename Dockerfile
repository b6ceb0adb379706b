# The logical-clocks binary in a small image, for one VM per container
# (`logical-clocks node`, see deploy/README.md) or for any other subcommand.
#
#   docker build -t logical-clocks .
#   docker run --rm logical-clocks --help
#
# Two stages: the Rust toolchain (about 1 GB) stays in the builder, and the
# runtime image holds Debian's slim base, a non-root user and the binary.
# Both stages are bookworm, so the binary links against the glibc it runs on.

# Pin a release with `--build-arg RUST_VERSION=1.95`; the default follows Rust 1.x.
ARG RUST_VERSION=1

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /src
# The whole context (see .dockerignore): the workspace's crates live in crates/, they
# embed files at compile time (assets/fonts, experiments/*.toml) and Cargo.toml names
# benches/*.rs, so copying only src/ would not build.
COPY . .
# --locked: build exactly the dependency versions in Cargo.lock.
# The cache mounts (BuildKit, Docker's default builder since 23.0) keep the
# downloaded crates and compiled dependencies between builds; the binary is
# copied out of the target cache inside the same step because the mount is
# gone afterwards.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && install -D -m 0755 target/release/logical-clocks /out/logical-clocks

FROM debian:bookworm-slim AS runtime
# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can check it and a
# bind mount can be given to the same id on the host.
RUN groupadd --system --gid 10001 lc \
    && useradd --system --uid 10001 --gid lc --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin lc \
    && install -d -o lc -g lc -m 0755 /data
COPY --from=builder /out/logical-clocks /usr/local/bin/logical-clocks
USER 10001:10001
# Run directories land in ./logs, that is /data/logs, unless --log-dir says otherwise.
WORKDIR /data
# The port `node` listens on in deploy/ (the peer entry's port decides it).
EXPOSE 10000
ENTRYPOINT ["logical-clocks"]
CMD ["--help"]
