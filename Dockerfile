# Builds the realmgate binary and runs it on a slim Debian.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/realmgate /usr/local/bin/realmgate
COPY realms.example.toml /etc/realmgate/realms.toml
# The working directory holds the embedded default's database and key file
# (sqlite://realmgate.db, realmgate.key) when no PostgreSQL URL is given:
# mount a volume there to keep them.
RUN mkdir -p /var/lib/realmgate && chown nobody:nogroup /var/lib/realmgate
WORKDIR /var/lib/realmgate
VOLUME /var/lib/realmgate
USER nobody
EXPOSE 8080
ENTRYPOINT ["realmgate"]
CMD ["serve", "--bind", "0.0.0.0:8080"]
