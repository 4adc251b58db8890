using Contiv.Model;

namespace Contiv.NetMaster;

internal static class BuildInfo
{
    public static VersionInfo Current { get; } = VersionInfoReader.Read(typeof(BuildInfo).Assembly);
}
