namespace Swim.Protocol.Client;

/// <summary>What crossed the link, as the host saw it.</summary>
public sealed record LinkStatistics(
    long Requests,
    long FramesSent,
    long BytesSent,
    long FramesReceived,
    long BytesReceived,
    long Retransmissions,
    long Timeouts,
    long CorruptFrames,
    long StrayResponses,
    long Replays);
