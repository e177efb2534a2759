namespace Swim.Protocol.Board;

/// <summary>A version 2 session: the host's nonce, its window of numbers and responses, whether it holds the write lease.</summary>
internal sealed class BoardSession(ushort id, ulong nonce, int depth)
{
    public ushort Id { get; } = id;

    public ulong Nonce { get; } = nonce;

    public ResponseWindow Window { get; } = new(depth);

    public bool HoldsLease { get; set; }

    /// <summary>When its latest request arrived (the endpoint's clock, ms): the lease lapses that long after.</summary>
    public long LastActiveMs { get; set; }
}
