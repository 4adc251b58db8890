using System.Net;
using System.Net.NetworkInformation;

namespace Contiv.Datapath.Tests.Integration;

/// <summary>Kernel refusals surface as NetlinkException with the errno, the operation and the object.</summary>
public class ErrorTests
{
    [Fact]
    public void Creating_an_existing_link_is_EEXIST()
    {
        using var ns = TestNamespace.Create("eexist");

        ns.Run(netlink =>
        {
            netlink.CreateBridge("cvbr-7");
            var error = Assert.Throws<NetlinkException>(() => netlink.CreateBridge("cvbr-7"));

            Assert.Equal(LinuxErrno.EEXIST, error.Errno);
            Assert.Equal("create link", error.Operation);
            Assert.Equal("cvbr-7", error.ObjectName);
            Assert.Equal("create link cvbr-7: File exists (EEXIST)", error.Message);
        });
    }

    [Fact]
    public void Missing_devices_are_ENODEV()
    {
        using var ns = TestNamespace.Create("enodev");

        ns.Run(netlink =>
        {
            Assert.Null(netlink.GetLink("nosuch0"));
            Assert.Null(netlink.GetLink(9999));

            var delete = Assert.Throws<NetlinkException>(() => netlink.DeleteLink("nosuch0"));
            Assert.Equal(LinuxErrno.ENODEV, delete.Errno);
            Assert.StartsWith("delete link nosuch0: No such device (ENODEV)", delete.Message);

            Assert.Equal(LinuxErrno.ENODEV, Assert.Throws<NetlinkException>(() => netlink.SetLinkUp("nosuch0")).Errno);
            Assert.Equal(LinuxErrno.ENODEV, Assert.Throws<NetlinkException>(() => netlink.SetMtu("nosuch0", 1400)).Errno);
            Assert.Equal(LinuxErrno.ENODEV, Assert.Throws<NetlinkException>(() => netlink.RenameLink("nosuch0", "other0")).Errno);

            var address = Assert.Throws<NetlinkException>(() => netlink.AddAddress("nosuch0", IPAddress.Parse("10.77.3.1"), 24));
            Assert.Equal(LinuxErrno.ENODEV, address.Errno);
            Assert.StartsWith("add address 10.77.3.1/24 dev nosuch0: No such device (ENODEV)", address.Message);

            netlink.CreateBridge("cvbr-8");
            var master = Assert.Throws<NetlinkException>(() => netlink.SetMaster("cvbr-8", "nosuch0"));
            Assert.Equal(LinuxErrno.ENODEV, master.Errno);
            Assert.Equal(LinuxErrno.ENODEV, Assert.Throws<NetlinkException>(
                () => netlink.AppendFdbEntry("nosuch0", PhysicalAddress.None, IPAddress.Loopback)).Errno);
        });
    }

    [Fact]
    public void Invalid_arguments_fail_before_reaching_the_kernel()
    {
        using var ns = TestNamespace.Create("einval");

        ns.Run(netlink =>
        {
            Assert.Throws<ArgumentException>(() => netlink.CreateBridge("a-name-longer-than-15"));
            Assert.Throws<ArgumentException>(() => netlink.CreateBridge("bad/name"));
            Assert.Throws<ArgumentOutOfRangeException>(
                () => netlink.CreateVxlan(new VxlanOptions("vx0", 1 << 24, IPAddress.Parse("192.168.77.1"))));
        });
    }

    [Fact]
    public void Renaming_onto_an_existing_name_is_EEXIST()
    {
        using var ns = TestNamespace.Create("rename");

        ns.Run(netlink =>
        {
            netlink.CreateBridge("cvbr-9");
            netlink.CreateBridge("cvbr-10");
            var error = Assert.Throws<NetlinkException>(() => netlink.RenameLink("cvbr-9", "cvbr-10"));
            Assert.Equal(LinuxErrno.EEXIST, error.Errno);
            Assert.Equal("rename to cvbr-10 link cvbr-9: File exists (EEXIST)", error.Message);
        });
    }

    [Fact]
    public void Missing_namespace_file_is_ENOENT()
    {
        TestNamespace.RequireNamespaces();

        var error = Assert.Throws<NetlinkException>(() => NetworkNamespace.Open("/var/run/netns/cvdp-does-not-exist"));
        Assert.Equal(LinuxErrno.ENOENT, error.Errno);
        Assert.Equal("open network namespace /var/run/netns/cvdp-does-not-exist: No such file or directory (ENOENT)", error.Message);
    }
}
