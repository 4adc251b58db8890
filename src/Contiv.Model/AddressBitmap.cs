using System.Collections;

namespace Contiv.Model;

/// <summary>
/// Which host indexes of a subnet are taken. Index 0 (network) and the last index (broadcast) are
/// always taken, as are indexes outside a configured range. Serialised as base64 so it fits in one
/// store value that is updated atomically with compare-and-set.
/// </summary>
public sealed class AddressBitmap
{
    private readonly BitArray _taken;

    private AddressBitmap(BitArray taken) => _taken = taken;

    public int Size => _taken.Length;

    /// <summary>A fresh bitmap for a subnet: only network, broadcast and out-of-range indexes are taken.</summary>
    public static AddressBitmap Create(Ipv4Subnet subnet)
    {
        var bits = new BitArray(subnet.Size);
        for (var i = 0; i < subnet.Size; i++)
        {
            bits[i] = i < subnet.FirstHostIndex || i > subnet.LastHostIndex;
        }

        return new AddressBitmap(bits);
    }

    public static AddressBitmap Deserialize(string text, int size)
    {
        var bytes = Convert.FromBase64String(text);
        var bits = new BitArray(bytes) { Length = size };
        return new AddressBitmap(bits);
    }

    public string Serialize()
    {
        var bytes = new byte[(_taken.Length + 7) / 8];
        _taken.CopyTo(bytes, 0);
        return Convert.ToBase64String(bytes);
    }

    public bool IsTaken(int index) => _taken[index];

    public void Take(int index) => _taken[index] = true;

    public void Free(int index) => _taken[index] = false;

    /// <summary>The lowest free index, or -1 when the subnet is exhausted.</summary>
    public int LowestFree()
    {
        for (var i = 0; i < _taken.Length; i++)
        {
            if (!_taken[i])
            {
                return i;
            }
        }

        return -1;
    }

    public int CountTaken(int from, int to)
    {
        var count = 0;
        for (var i = from; i <= to; i++)
        {
            if (_taken[i])
            {
                count++;
            }
        }

        return count;
    }
}
