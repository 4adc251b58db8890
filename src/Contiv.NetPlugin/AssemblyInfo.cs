// netplugin drives the Linux kernel datapath and listens on a Unix socket: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
