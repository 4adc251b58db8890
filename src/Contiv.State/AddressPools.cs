using System.Globalization;

namespace Contiv.State;

/// <summary>
/// What an address pool is created with: slot <c>i</c> stands for the IPv4 address
/// <see cref="FirstAddress"/> + i; <see cref="Reserved"/> slots are taken from the start and never
/// handed out by a lowest-free take (network, broadcast, gateway, outside a configured range).
/// </summary>
public sealed record AddressPoolSpec(uint FirstAddress, int Size, IReadOnlyCollection<int> Reserved)
{
    /// <summary>Larger than any subnet the model accepts (/14), small enough to stay one store value.</summary>
    public const int MaxSize = 1 << 20;
}

/// <summary>
/// One version of an address pool: a bitmap of taken slots kept by the store itself, so that taking
/// the lowest free slot is one atomic step on the server (Redis: BITPOS/SETBIT in a script) instead
/// of a read-modify-write of a whole record by the client. Immutable.
/// </summary>
/// <remarks>
/// Bits are stored most significant bit first (slot 0 is bit 7 of byte 0), Redis's bit order, so the
/// embedded store and Redis share one representation. Padding bits past <see cref="Size"/> are set.
/// <see cref="Version"/> grows by one with every take and release, so a commit can be conditioned on
/// "no address was taken or released since I read the pool" (<see cref="PoolCondition"/>). A pool
/// deleted and created again starts at version 1 again: conditions meant to survive that must also
/// name a key that changes with the pool's owner.
/// </remarks>
public sealed class AddressPool
{
    private readonly byte[] _bits;

    public AddressPool(uint firstAddress, int size, long version, byte[] bits)
    {
        ArgumentNullException.ThrowIfNull(bits);
        if (size is < 1 or > AddressPoolSpec.MaxSize || bits.Length != ByteLength(size))
        {
            throw new ArgumentException($"an address pool of {size} slots needs {ByteLength(size)} bytes of bitmap, got {bits.Length}", nameof(bits));
        }

        FirstAddress = firstAddress;
        Size = size;
        Version = version;
        _bits = bits;
    }

    public uint FirstAddress { get; }

    public int Size { get; }

    public long Version { get; }

    /// <summary>The bitmap (a copy), most significant bit first.</summary>
    public byte[] Bits => (byte[])_bits.Clone();

    public static int ByteLength(int size) => (size + 7) / 8;

    /// <summary>A fresh pool (version 1): only <see cref="AddressPoolSpec.Reserved"/> and padding are taken.</summary>
    public static AddressPool Create(AddressPoolSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Size is < 1 or > AddressPoolSpec.MaxSize)
        {
            throw new ArgumentOutOfRangeException(nameof(spec), $"an address pool has 1 to {AddressPoolSpec.MaxSize} slots, not {spec.Size}");
        }

        var bits = new byte[ByteLength(spec.Size)];
        for (var slot = spec.Size; slot < bits.Length * 8; slot++)
        {
            Set(bits, slot, true);
        }

        foreach (var slot in spec.Reserved)
        {
            if (slot < 0 || slot >= spec.Size)
            {
                throw new ArgumentOutOfRangeException(nameof(spec), $"reserved slot {slot} is outside a pool of {spec.Size} slots");
            }

            Set(bits, slot, true);
        }

        return new AddressPool(spec.FirstAddress, spec.Size, 1, bits);
    }

    /// <summary>The dotted-quad address of a slot, as the stores write it into record keys.</summary>
    public static string FormatAddress(uint firstAddress, int slot)
    {
        var address = firstAddress + (uint)slot;
        return string.Create(CultureInfo.InvariantCulture, $"{address >> 24}.{(address >> 16) & 0xFF}.{(address >> 8) & 0xFF}.{address & 0xFF}");
    }

    public bool IsTaken(int slot) => slot < 0 || slot >= Size || (_bits[slot >> 3] & (0x80 >> (slot & 7))) != 0;

    /// <summary>The lowest free slot, or -1 when every slot is taken.</summary>
    public int LowestFree()
    {
        for (var i = 0; i < _bits.Length; i++)
        {
            if (_bits[i] != 0xFF)
            {
                var slot = (i * 8) + System.Numerics.BitOperations.LeadingZeroCount((uint)(byte)~_bits[i]) - 24;
                return slot < Size ? slot : -1;
            }
        }

        return -1;
    }

    /// <summary>Every taken slot below <see cref="Size"/>, ascending.</summary>
    public IEnumerable<int> TakenSlots()
    {
        for (var slot = 0; slot < Size; slot++)
        {
            if (IsTaken(slot))
            {
                yield return slot;
            }
        }
    }

    /// <summary>This pool with <paramref name="slot"/> taken or freed, one version later.</summary>
    public AddressPool With(int slot, bool taken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, Size);
        var bits = (byte[])_bits.Clone();
        Set(bits, slot, taken);
        return new AddressPool(FirstAddress, Size, Version + 1, bits);
    }

    private static void Set(byte[] bits, int slot, bool taken)
    {
        var mask = (byte)(0x80 >> (slot & 7));
        bits[slot >> 3] = taken ? (byte)(bits[slot >> 3] | mask) : (byte)(bits[slot >> 3] & ~mask);
    }
}

/// <summary>
/// Take a slot of <see cref="Pool"/>: <see cref="Slot"/> when given (refused if taken), otherwise the
/// lowest free one. With <see cref="RecordKeyPrefix"/>, the same atomic step also writes the regular
/// key <c>RecordKeyPrefix + address</c> (dotted quad of the slot taken) with <see cref="RecordValue"/>:
/// e.g. a lease naming the host that took the address.
/// </summary>
public sealed record PoolTake(string Pool, int? Slot = null, string? RecordKeyPrefix = null, string? RecordValue = null);

public enum PoolTakeOutcome
{
    /// <summary>The slot in <see cref="PoolTakeResult.Slot"/> is now taken by this call.</summary>
    Taken,

    /// <summary>The requested slot is taken already or outside the pool. Nothing was written.</summary>
    Unavailable,

    /// <summary>No slot is free. Nothing was written.</summary>
    Exhausted,

    /// <summary>The pool does not exist. Nothing was written.</summary>
    NoPool,
}

/// <summary>What a take did, and the pool's shape (so the caller can name the address without another read).</summary>
public readonly record struct PoolTakeResult(PoolTakeOutcome Outcome, int Slot, uint FirstAddress, int Size);

/// <summary>Free <see cref="Slot"/> of <see cref="Pool"/>; when it was taken, also delete <see cref="RecordKey"/>, atomically.</summary>
public sealed record PoolRelease(string Pool, int Slot, string? RecordKey = null);

/// <summary>A commit precondition: the pool is at <see cref="Version"/> (0: the pool does not exist).</summary>
public readonly record struct PoolCondition(string Pool, long Version);

/// <summary>A commit write: create (or reset) the pool from <see cref="Spec"/>, or delete it when null.</summary>
public readonly record struct PoolWrite(string Pool, AddressPoolSpec? Spec);

/// <summary>
/// The pool operations as pure functions of one pool version, for stores that run them in process
/// (the embedded store, test stand-ins). Redis runs the same steps in a script.
/// </summary>
public static class PoolSteps
{
    /// <summary>The outcome of <paramref name="take"/> on <paramref name="pool"/>; when taken, the next pool version and the record write.</summary>
    public static (PoolTakeResult Result, AddressPool? Next, KeyWrite? Record) Take(AddressPool? pool, PoolTake take)
    {
        ArgumentNullException.ThrowIfNull(take);
        if (pool is null)
        {
            return (new PoolTakeResult(PoolTakeOutcome.NoPool, -1, 0, 0), null, null);
        }

        int slot;
        if (take.Slot is { } requested)
        {
            if (pool.IsTaken(requested))
            {
                return (new PoolTakeResult(PoolTakeOutcome.Unavailable, requested, pool.FirstAddress, pool.Size), null, null);
            }

            slot = requested;
        }
        else
        {
            slot = pool.LowestFree();
            if (slot < 0)
            {
                return (new PoolTakeResult(PoolTakeOutcome.Exhausted, -1, pool.FirstAddress, pool.Size), null, null);
            }
        }

        KeyWrite? record = take.RecordKeyPrefix is null
            ? null
            : new KeyWrite(take.RecordKeyPrefix + AddressPool.FormatAddress(pool.FirstAddress, slot), take.RecordValue);
        return (new PoolTakeResult(PoolTakeOutcome.Taken, slot, pool.FirstAddress, pool.Size), pool.With(slot, taken: true), record);
    }
}
