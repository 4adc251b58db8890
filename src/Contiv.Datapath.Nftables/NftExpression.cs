namespace Contiv.Datapath.Nftables;

/// <summary>
/// One nf_tables expression of a rule. Registers are the 16-byte NFT_REG_1..4 (1..4); 0 is the
/// verdict register. Each kind maps to one kernel expression ("meta", "payload", ...).
/// </summary>
public abstract record NftExpression
{
    /// <summary>The first data register, what nft itself uses for a single match.</summary>
    public const uint Register1 = 1;
}

/// <summary>meta keys this library uses (enum nft_meta_keys).</summary>
public enum NftMetaKey : uint
{
    Length = 0,
    Protocol = 1,
    Mark = 3,
    InputInterface = 4,
    OutputInterface = 5,
    InputInterfaceName = 6,
    OutputInterfaceName = 7,
    NfProto = 15,
    L4Proto = 16,
}

/// <summary>Where a payload offset counts from (enum nft_payload_bases).</summary>
public enum NftPayloadBase : uint
{
    LinkLayer = 0,
    Network = 1,
    Transport = 2,
}

/// <summary>Comparison operators (enum nft_cmp_ops).</summary>
public enum NftCmpOp : uint
{
    Equal = 0,
    NotEqual = 1,
    Less = 2,
    LessOrEqual = 3,
    Greater = 4,
    GreaterOrEqual = 5,
}

/// <summary>conntrack keys (enum nft_ct_keys).</summary>
public enum NftCtKey : uint
{
    State = 0,
    Direction = 1,
    Status = 2,
    Mark = 3,
}

/// <summary>Verdicts: netfilter's NF_DROP/NF_ACCEPT and nf_tables' own (negative) ones.</summary>
public enum NftVerdictCode
{
    Drop = 0,
    Accept = 1,
    Continue = -1,
    Jump = -3,
    Goto = -4,
    Return = -5,
}

/// <summary>ct state bits (NF_CT_STATE_BIT and friends), in host order as nf_tables loads them.</summary>
[Flags]
public enum NftCtState : uint
{
    None = 0,
    Invalid = 1,
    Established = 2,
    Related = 4,
    New = 8,
    Untracked = 64,
}

/// <summary>Loads a meta key (e.g. l4proto, 1 byte) into a register.</summary>
public sealed record NftMeta(NftMetaKey Key, uint Register = NftExpression.Register1) : NftExpression;

/// <summary>Loads <paramref name="Length"/> packet bytes at <paramref name="Offset"/> from a header into a register.</summary>
public sealed record NftPayload(NftPayloadBase Base, uint Offset, uint Length, uint Register = NftExpression.Register1) : NftExpression;

/// <summary>The checksum a payload write keeps right (enum nft_payload_csum_types).</summary>
public enum NftChecksum : uint
{
    None = 0,

    /// <summary>The Internet checksum at <see cref="NftPayloadWrite.ChecksumOffset"/> of the same header (e.g. 10: the IPv4 header checksum).</summary>
    Inet = 1,
}

/// <summary>
/// Writes a register into the packet (nft's "payload write", as `ip dscp set` does), updating the
/// checksum incrementally; the bytes written should start at an even offset of the checksummed
/// header (nft writes DSCP as the 2-byte word at offset 0 for that reason).
/// </summary>
public sealed record NftPayloadWrite(NftPayloadBase Base, uint Offset, uint Length, NftChecksum Checksum = NftChecksum.None, uint ChecksumOffset = 0, uint SourceRegister = NftExpression.Register1) : NftExpression;

/// <summary>Compares a register with a value; a false comparison ends the rule (no match).</summary>
public sealed record NftCmp(NftCmpOp Op, NftValue Data, uint Register = NftExpression.Register1) : NftExpression;

/// <summary>register = (register &amp; mask) ^ xor, over the mask's length.</summary>
public sealed record NftBitwise(NftValue Mask, NftValue Xor, uint SourceRegister = NftExpression.Register1, uint DestinationRegister = NftExpression.Register1) : NftExpression;

/// <summary>Matches when the register's value is (or, inverted, is not) an element of the named set.</summary>
public sealed record NftLookup(string Set, bool Invert = false, uint Register = NftExpression.Register1) : NftExpression;

/// <summary>Loads a conntrack key (ct state: 4 bytes, host order) into a register.</summary>
public sealed record NftCt(NftCtKey Key, uint Register = NftExpression.Register1) : NftExpression;

/// <summary>Sets the verdict (accept, drop, jump CHAIN, ...).</summary>
public sealed record NftVerdict(NftVerdictCode Code, string? Chain = null) : NftExpression;

/// <summary>
/// Counts packets and bytes. Written with zero counts; read back with the kernel's. The counts are
/// not part of equality, so a table read back still equals the one written.
/// </summary>
public sealed record NftCounter(ulong Packets = 0, ulong Bytes = 0) : NftExpression
{
    public bool Equals(NftCounter? other) => other is not null;

    public override int GetHashCode() => nameof(NftCounter).GetHashCode(StringComparison.Ordinal);
}
