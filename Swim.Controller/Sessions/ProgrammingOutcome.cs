using Swim.Controller.Boards;
using Swim.Protocol.Messages;

namespace Swim.Controller.Sessions;

/// <summary>What a programming run did: the board it ran on, the session's result and, with test data, the accuracies.</summary>
/// <param name="Link">How the host reached the board (e.g. "tcp 127.0.0.1:5025").</param>
/// <param name="Accuracy">Of the read-back model on the test samples.</param>
/// <param name="TrainedAccuracy">Of the model as trained on the same samples: what programming is measured against.</param>
public sealed record ProgrammingOutcome(BoardInfo Board, string Link, ProgrammingResult Result, double? Accuracy, double? TrainedAccuracy)
{
    /// <summary>How the run was set up (provenance, board, data, options), described once so that every report of it agrees.</summary>
    public object? Run { get; init; }

    /// <summary>The boards the session ran on (one for most sessions); <see cref="Board"/> is them as one.</summary>
    public Mapping.BoardSet? BoardSet { get; init; }

    /// <summary>The line the link time is counted at: the board address's own rate, or the protocol's default, assumed.</summary>
    public LineRate Line { get; init; } = LineRate.ProtocolDefault;

    /// <summary>How long the session's bytes kept the line busy at <see cref="Line"/>'s rate: the bench's floor under the wall time.</summary>
    /// <remarks>Several boards have a link each, busy side by side: the slowest link's time.</remarks>
    public double LinkSeconds => Result.Boards.Count > 1 ? Result.Boards.Max(b => Line.Seconds(b.Link)) : Line.Seconds(Result.Link);
}
