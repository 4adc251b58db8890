using Contiv.Datapath.TcBpf.Bpf;

namespace Contiv.Datapath.TcBpf.Tests.Integration;

/// <summary>The kernel's verifier accepts both VLAN programs; a bad program's error carries the verifier log.</summary>
public class BpfLoadTests
{
    [Fact]
    public void Verifier_accepts_the_tagger_and_the_untagger()
    {
        RootAndBpf.Require();

        using var tagger = BpfProgram.LoadSchedCls("cv_tag_112", VlanPrograms.Tagger(112, 1));
        using var untagger = BpfProgram.LoadSchedCls("cv_untag_112", VlanPrograms.Untagger(112, 1));

        Assert.True(tagger.Fd > 0);
        Assert.True(untagger.Fd > 0);
    }

    [Fact]
    public void A_refused_program_reports_errno_and_the_verifier_log()
    {
        RootAndBpf.Require();

        // Returns without setting r0: the verifier refuses with "R0 !read_ok".
        var program = new BpfAssembler().Exit().Assemble();

        var error = Assert.Throws<BpfException>(() => BpfProgram.LoadSchedCls("cv_bad", program));

        Assert.Equal(LinuxErrno.EACCES, error.Errno);
        Assert.Contains("R0 !read_ok", error.VerifierLog);
        Assert.Contains("R0 !read_ok", error.Message);
        Assert.Contains("load cv_bad", error.Message);
    }

    [Fact]
    public void Program_names_follow_bpf_obj_name_rules()
    {
        Assert.Throws<ArgumentException>(() => BpfProgram.LoadSchedCls("has-dash", VlanPrograms.PassAll()));
        Assert.Throws<ArgumentException>(() => BpfProgram.LoadSchedCls("sixteen_chars_xx", VlanPrograms.PassAll()));
    }
}
