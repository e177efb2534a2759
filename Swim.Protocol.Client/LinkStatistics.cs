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
    long Replays)
{
    /// <summary>Several links' figures added up: what a session over several boards sent and saw on all of them.</summary>
    public static LinkStatistics Sum(IEnumerable<LinkStatistics> links)
    {
        ArgumentNullException.ThrowIfNull(links);
        var total = new LinkStatistics(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        foreach (LinkStatistics l in links)
        {
            total = new LinkStatistics(total.Requests + l.Requests, total.FramesSent + l.FramesSent, total.BytesSent + l.BytesSent, total.FramesReceived + l.FramesReceived,
                total.BytesReceived + l.BytesReceived, total.Retransmissions + l.Retransmissions, total.Timeouts + l.Timeouts, total.CorruptFrames + l.CorruptFrames,
                total.StrayResponses + l.StrayResponses, total.Replays + l.Replays);
        }
        return total;
    }
}
