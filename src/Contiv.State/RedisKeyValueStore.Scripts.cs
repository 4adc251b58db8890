namespace Contiv.State;

/// <summary>The Lua scripts that make listings and pool operations atomic on the server.</summary>
public sealed partial class RedisKeyValueStore
{
    /// <summary>
    /// Lists a prefix as one atomic script, so the listing is a snapshot even while others commit.
    /// KEYS[1] is the index, ARGV[1] the key prefix (empty: everything), ARGV[2] the data-key prefix.
    /// Returns a flat array key1, value1, key2, value2, ... MGET runs in batches because Lua's unpack
    /// cannot spread more than a few thousand values.
    /// </summary>
    private const string ListScript = """
        local names
        if ARGV[1] == '' then
          names = redis.call('ZRANGEBYLEX', KEYS[1], '-', '+')
        else
          names = redis.call('ZRANGEBYLEX', KEYS[1], '[' .. ARGV[1], '(' .. ARGV[1] .. '\255')
        end
        local result = {}
        for first = 1, #names, 500 do
          local last = math.min(first + 499, #names)
          local dataKeys = {}
          for i = first, last do
            dataKeys[#dataKeys + 1] = ARGV[2] .. names[i]
          end
          local values = redis.call('MGET', unpack(dataKeys))
          for i = 1, #values do
            if values[i] then
              result[#result + 1] = names[first + i - 1]
              result[#result + 1] = values[i]
            end
          end
        end
        return result
        """;

    /// <summary>
    /// Takes a pool slot. KEYS: meta, bits, receipt, index. ARGV: requested slot ('' for the lowest
    /// free), record key prefix ('' for none), encoded record value, data-key prefix, receipt lifetime
    /// (ms). Returns {outcome, slot, first, size}, outcome 0 taken, 1 unavailable, 2 exhausted, 3 no pool.
    /// A receipt (slot:first:size) makes a retried call return the slot the first call took.
    /// </summary>
    private const string TakeScript = """
        local done = redis.call('GET', KEYS[3])
        if done then
          local slot, first, size = string.match(done, '^(%d+):(%d+):(%d+)$')
          return {0, tonumber(slot), tonumber(first), tonumber(size)}
        end
        local meta = redis.call('HMGET', KEYS[1], 'first', 'size')
        if not meta[1] then
          return {3, -1, 0, 0}
        end
        local first = tonumber(meta[1])
        local size = tonumber(meta[2])
        local slot
        if ARGV[1] == '' then
          slot = redis.call('BITPOS', KEYS[2], 0)
          if slot < 0 or slot >= size then
            return {2, -1, first, size}
          end
        else
          slot = tonumber(ARGV[1])
          if slot >= size or redis.call('GETBIT', KEYS[2], slot) == 1 then
            return {1, slot, first, size}
          end
        end
        redis.call('SETBIT', KEYS[2], slot, 1)
        redis.call('HINCRBY', KEYS[1], 'version', 1)
        if ARGV[2] ~= '' then
          local a = first + slot
          local name = ARGV[2] .. string.format('%d.%d.%d.%d', math.floor(a / 16777216) % 256, math.floor(a / 65536) % 256, math.floor(a / 256) % 256, a % 256)
          redis.call('SET', ARGV[4] .. name, ARGV[3])
          redis.call('ZADD', KEYS[4], 0, name)
        end
        redis.call('SET', KEYS[3], string.format('%d:%d:%d', slot, first, size), 'PX', ARGV[5])
        return {0, slot, first, size}
        """;

    /// <summary>
    /// Frees a pool slot. KEYS: meta, bits, receipt, index. ARGV: slot, record key ('' for none),
    /// data-key prefix, receipt lifetime (ms). Returns 1 when the slot was taken (and is now free),
    /// else 0. The receipt keeps a retried call from freeing the slot again after another host took it.
    /// </summary>
    private const string ReleaseScript = """
        local done = redis.call('GET', KEYS[3])
        if done then
          return tonumber(done)
        end
        local size = redis.call('HGET', KEYS[1], 'size')
        local slot = tonumber(ARGV[1])
        if not size or slot >= tonumber(size) or redis.call('GETBIT', KEYS[2], slot) == 0 then
          return 0
        end
        redis.call('SETBIT', KEYS[2], slot, 0)
        redis.call('HINCRBY', KEYS[1], 'version', 1)
        if ARGV[2] ~= '' then
          redis.call('DEL', ARGV[3] .. ARGV[2])
          redis.call('ZREM', KEYS[4], ARGV[2])
        end
        redis.call('SET', KEYS[3], '1', 'PX', ARGV[4])
        return 1
        """;

    /// <summary>Reads a pool as one snapshot. KEYS: meta, bits. Returns {first, size, version, bits} or an empty array.</summary>
    private const string GetPoolScript = """
        local meta = redis.call('HMGET', KEYS[1], 'first', 'size', 'version')
        if not meta[1] then
          return {}
        end
        return {meta[1], meta[2], meta[3], redis.call('GET', KEYS[2]) or ''}
        """;
}
