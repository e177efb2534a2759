using Swim.Protocol.Messages;

namespace Swim.Protocol.Board;

/// <summary>A response as the board keeps it, to send again for a repeated sequence number.</summary>
internal readonly record struct CachedResponse(byte Opcode, StatusCode Status, byte[] Payload);

/// <summary>
/// The responses of the <see cref="Depth"/> newest sequence numbers of one series: a number within the window that ran
/// is answered from here; one <see cref="Depth"/> or more behind the newest is stale. "Behind" is modulo 2^32: s is d
/// behind n when (n - s) mod 2^32 = d and d &lt; 2^31; anything else is ahead and becomes the newest.
/// </summary>
internal sealed class ResponseWindow(int depth)
{
    private readonly Dictionary<uint, CachedResponse> _cached = [];

    public int Depth { get; } = depth;

    /// <summary>The newest number executed; meaningless until <see cref="Any"/>.</summary>
    public uint Newest { get; private set; }

    public bool Any { get; private set; }

    public bool TryGet(uint sequence, out CachedResponse response) => _cached.TryGetValue(sequence, out response);

    /// <summary>How far <paramref name="sequence"/> lies behind the newest, or -1 when it is ahead of it (or nothing ran yet).</summary>
    public long Behind(uint sequence)
    {
        uint behind = unchecked(Newest - sequence);
        return Any && behind < 1u << 31 ? behind : -1;
    }

    public bool IsStale(uint sequence) => Behind(sequence) >= Depth;

    public void Remember(uint sequence, CachedResponse response)
    {
        if (Behind(sequence) < 0)
        {
            Newest = sequence;
        }
        Any = true;
        _cached[sequence] = response;
        List<uint>? expired = null;
        foreach (uint kept in _cached.Keys)
        {
            if (Behind(kept) >= Depth)
            {
                (expired ??= []).Add(kept);
            }
        }
        expired?.ForEach(k => _cached.Remove(k));
    }

    /// <summary>Starts a new series at <paramref name="sequence"/>: what was cached can never be asked for again (version 1's new host).</summary>
    public void Restart(uint sequence)
    {
        _cached.Clear();
        Newest = sequence;
    }

    public void Clear()
    {
        _cached.Clear();
        Any = false;
        Newest = 0;
    }
}
