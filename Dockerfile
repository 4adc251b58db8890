# ContivDocker node image: netplugin, netmaster and netctl, native executables (NativeAOT: no .NET runtime),
# on dotnet/runtime-deps. One image; the command names the program (all three are on PATH, in
# /opt/contiv):
#
#   docker run -d --network host --cap-add NET_ADMIN --cap-add SYS_ADMIN --cap-add NET_RAW \
#     --security-opt systempaths=unconfined --security-opt apparmor=unconfined \
#     -v /run/docker/plugins:/run/docker/plugins -v /var/run/docker.sock:/var/run/docker.sock \
#     -v /run/contiv:/var/run/contiv:rshared \
#     IMAGE netplugin --host node1 --vtep-ip 10.0.0.11 --cluster-store redis://10.0.0.5:6379
#   (the state mount must be rshared: netplugin bind-mounts each network's namespace there; README)
#   docker run -d --network host IMAGE netmaster --cluster-store redis://10.0.0.5:6379
#   docker run --rm --network host IMAGE netctl net ls
#
# Targets (scripts/image-build.sh builds them):
#   runtime (default)  publishes from source in the SDK stage. Needs SDK_IMAGE and RUNTIME_IMAGE,
#                      i.e. a registry (MCR) or both images loaded locally.
#   prebuilt           the same image from binaries published on the host (scripts/publish.sh
#                      --single-dir artifacts/image, as `scripts/image-build.sh prebuilt`
#                      does);
#                      needs only RUNTIME_IMAGE. It comes before the SDK stage because Docker's legacy
#                      builder builds every stage up to the target: --target prebuilt never needs
#                      the SDK image. (BuildKit skips unused stages; with the legacy builder the
#                      default target also builds prebuilt, so artifacts/image must exist then too.)
# The publish command lives in scripts/publish.sh only (shared with scripts/build.sh and the plugin).
# No RUN in the runtime stages: the image needs no shell to build, only to debug.

ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/runtime-deps:10.0

FROM ${RUNTIME_IMAGE} AS runtime-base
LABEL org.opencontainers.image.title="ContivDocker" \
      org.opencontainers.image.description="netplugin, netmaster and netctl: multi-host, multi-tenant Docker networking" \
      org.opencontainers.image.source="https://github.com/contiv/netplugin"
# DOTNET_EnableDiagnostics=0: no diagnostic IPC sockets in /tmp (the managed plugin does the same).
ENV PATH=/opt/contiv:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DOTNET_EnableDiagnostics=0
# netplugin needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN); runtime-deps defines a non-root "app" user.
USER 0:0
WORKDIR /opt/contiv
CMD ["netplugin", "--help"]

FROM runtime-base AS prebuilt
COPY artifacts/image/ /opt/contiv/

FROM ${SDK_IMAGE} AS sdk
ARG SOURCE_REVISION=unknown
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY scripts/publish.sh scripts/
COPY src/ src/
# NativeAOT links with clang and needs zlib's headers (the plain SDK image has neither)
RUN apt-get update && apt-get install -y --no-install-recommends clang zlib1g-dev && rm -rf /var/lib/apt/lists/*
# restores (for this machine's runtime identifier) and publishes the three programs as native executables
RUN CONTIV_SOURCE_REVISION="$SOURCE_REVISION" scripts/publish.sh --single-dir /out

FROM runtime-base AS runtime
COPY --from=sdk /out/ /opt/contiv/
