# shellcheck shell=bash
# The one definition of how the three programs are published, shared by scripts/build.sh,
# scripts/dev-publish.sh (and so scripts/bench.sh), scripts/plugin-build.sh and the Dockerfile.
# The projects set PublishAot (see their .csproj): a publish for this machine's runtime identifier
# yields one native executable per program, no .NET runtime needed where it runs.
#
#   source scripts/lib/publish.sh
#   contiv_publish NetPlugin /out/netplugin     # -> /out/netplugin/Contiv.NetPlugin + netplugin link

# contiv_rid: the .NET runtime identifier of this machine.
contiv_rid() {
  case "$(uname -m)" in
    x86_64) echo linux-x64 ;;
    aarch64 | arm64) echo linux-arm64 ;;
    *) echo "contiv_rid: unsupported machine $(uname -m)" >&2; return 1 ;;
  esac
}

# contiv_publish APP OUT [PROJECT-ROOT [DOTNET-ARGS...]]: APP is NetMaster, NetPlugin or NetCtl.
contiv_publish() {
  local app="$1" out="$2" root="${3:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}" name rid
  shift 3 2>/dev/null || shift $#
  name=$(echo "$app" | tr '[:upper:]' '[:lower:]')
  rid=$(contiv_rid) || return 1
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 dotnet publish "$root/src/Contiv.$app/Contiv.$app.csproj" \
    -c Release -r "$rid" --nologo -v quiet -clp:ErrorsOnly -o "$out" "$@" || return 1
  # The native linker's separate debug symbols (tens of MB) are not part of what is deployed.
  rm -f "$out"/*.dbg "$out"/*.pdb "$out"/*.xml "$out"/*.staticwebassets.endpoints.json
  [ -x "$out/Contiv.$app" ] || { echo "contiv_publish: no $out/Contiv.$app" >&2; return 1; }
  ln -sf "Contiv.$app" "$out/$name"
}
