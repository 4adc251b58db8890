// The plugin under test is Linux-only (Unix socket server, kernel datapath), and so are its tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
