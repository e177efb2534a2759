using Swim.Protocol.Messages;

namespace Swim.Protocol.Client;

// Typed commands, with long cell lists split into the board's batch size and sent pipelined.
public sealed partial class BoardClient
{
    /// <summary>
    /// IDENTIFY; afterwards the window, batch size and payload limit follow the board's own. The first call connects
    /// (version 2: and opens the session) and returns what the connection's IDENTIFY said; later calls ask again.
    /// </summary>
    public async Task<BoardInfo> IdentifyAsync(CancellationToken cancellationToken = default)
    {
        if (Board is null)
        {
            await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
            if (Board is { } connected)
            {
                return connected;
            }
        }
        IdentifyResponse response = await SendAsync<IdentifyResponse>(new IdentifyRequest(), cancellationToken).ConfigureAwait(false);
        Adopt(response.Info);
        return response.Info;
    }

    public Task<ResetResponse> ResetAsync(bool clearCounters = false, CancellationToken cancellationToken = default) =>
        SendAsync<ResetResponse>(new ResetRequest(clearCounters), cancellationToken);

    public async Task<BoardStatus> StatusAsync(CancellationToken cancellationToken = default) =>
        (await SendAsync<StatusResponse>(new StatusRequest(), cancellationToken).ConfigureAwait(false)).Status;

    /// <summary>
    /// Reads cells (each the mean of <paramref name="samples"/> reads), in the order given, microsiemens. Stretches of
    /// the list that are rectangles (whole or partial rows, one after the other) go as READ rectangles, the rest as
    /// cell lists: the same answers for a fraction of the bytes.
    /// </summary>
    public async Task<float[]> ReadAsync(IReadOnlyList<CellAddress> cells, byte samples = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cells);
        int maxCells = Math.Min((int)(Board?.MaxBatch ?? DefaultMaxBatch), (MaxResponse - 2) / 4);
        return await InOrder(CellSpans.Plan(cells, maxCells, ItemsPerCommand(CellAddress.WireLength, 4))
            .Select(span => ReadSpanAsync(cells, span, samples, cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>One span of a READ: a rectangle or a list of cells, its conductances checked for number.</summary>
    private async Task<float[]> ReadSpanAsync(IReadOnlyList<CellAddress> cells, CellSpan span, byte samples, CancellationToken cancellationToken)
    {
        ReadRequest request = span.IsRectangle ? ReadRequest.Rectangle(cells[span.Start], span.Rows, span.Columns, samples)
            : ReadRequest.Cells([.. Enumerable.Range(span.Start, span.Count).Select(i => cells[i])], samples);
        ReadResponse read = await SendAsync<ReadResponse>(request, cancellationToken).ConfigureAwait(false);
        return [.. Counted(read.Conductances, span.Count, "READ", "conductances")];
    }

    /// <summary>The parts of a command cut into spans, awaited and joined in span order (they were sent in that order).</summary>
    private static async Task<T[]> InOrder<T>(IEnumerable<Task<T[]>> parts) => [.. (await Task.WhenAll(parts).ConfigureAwait(false)).SelectMany(p => p)];

    /// <summary>An answer's items, when there is one for each cell the command carried; an answer of another length is a board fault.</summary>
    private static IReadOnlyList<T> Counted<T>(IReadOnlyList<T> items, int cells, string command, string what) => items.Count == cells ? items
        : throw new IOException($"the board answered a {command} of {cells} cells with {items.Count} {what}.");

    /// <summary>
    /// Reads cells as <see cref="ReadAsync"/> does, but stretches that are rows go as READ_CODES where the board has it: a
    /// code of <paramref name="codeBits"/> bits (8 or 16) a cell and one scale, instead of a float a cell. The values are
    /// the board's codes turned back into microsiemens, as fine as its code step.
    /// </summary>
    public async Task<float[]> ReadCodedAsync(IReadOnlyList<CellAddress> cells, byte codeBits, byte samples = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cells);
        if (codeBits is not (8 or 16))
        {
            throw new ArgumentOutOfRangeException(nameof(codeBits), codeBits, "READ_CODES answers 8- or 16-bit codes.");
        }
        if (Board is not { } board || (board.Capabilities & BoardCapabilities.ReadCodes) == 0)
        {
            return await ReadAsync(cells, samples, cancellationToken).ConfigureAwait(false);
        }
        int maxCells = Math.Min(board.MaxBatch, (MaxResponse - ReadCodesResponse.HeaderLength) / (codeBits / 8));
        return await InOrder(CellSpans.Plan(cells, maxCells, ItemsPerCommand(CellAddress.WireLength, 4)).Select(async span =>
        {
            if (!span.IsRectangle)
            {
                return await ReadSpanAsync(cells, span, samples, cancellationToken).ConfigureAwait(false);
            }
            var request = new ReadCodesRequest(cells[span.Start], span.Rows, span.Columns, samples, codeBits);
            ReadCodesResponse coded = await SendAsync<ReadCodesResponse>(request, cancellationToken).ConfigureAwait(false);
            Counted(coded.Codes, span.Count, "READ_CODES", "codes");
            return coded.Conductances();
        })).ConfigureAwait(false);
    }

    /// <summary>Open-loop PROGRAM; returns each cell's status.</summary>
    public async Task<StatusCode[]> ProgramAsync(IReadOnlyList<ProgramTarget> targets, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(targets);
        IReadOnlyList<StatusCode>[] parts = await Chunked(targets, ProgramTarget.WireLength,
            chunk => SendAsync<ProgramResponse>(new ProgramRequest(chunk), cancellationToken), r => r.Cells, answerItemLength: 1).ConfigureAwait(false);
        return [.. parts.SelectMany(p => p)];
    }

    /// <summary>
    /// The commands <see cref="ProgramLevelsAsync"/> sends for these cells, in order: rectangles as PROGRAM_LEVELS where the
    /// board has it and the cells are rows, the rest as PROGRAM lists. A resuming session counts and judges by them.
    /// </summary>
    public List<CellSpan> ProgramSpans(IReadOnlyList<CellAddress> cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        int perList = ItemsPerCommand(ProgramTarget.WireLength, answerItemLength: 1);
        if (Board is not { } board || (board.Capabilities & BoardCapabilities.ProgramLevels) == 0)
        {
            return CellSpans.Cut(cells.Count, perList, _ => null);
        }
        // A rectangle's levels must fit the payload too: at most max_payload - header bytes of packed bits.
        int bits = PackedLevels.BitsFor(board.LevelsPerCell);
        // ... and its answer, should every cell fail, the board's longest answer (max_response).
        int maxCells = Math.Min(Math.Min(board.MaxBatch, (board.MaxPayload - ProgramLevelsRequest.HeaderLength) * 8 / bits),
            (MaxResponse - 2) / CellException.WireLength);
        return CellSpans.Plan(cells, Math.Max(1, maxCells), perList);
    }

    /// <summary>
    /// Open-loop programming of cells to level indices: PROGRAM_LEVELS (packed levels, only the cells that failed
    /// answered) for stretches that are rows, where the board has it; PROGRAM elsewhere. Returns each cell's status.
    /// </summary>
    public async Task<StatusCode[]> ProgramLevelsAsync(IReadOnlyList<CellAddress> cells, IReadOnlyList<int> levels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(levels);
        if (levels.Count != cells.Count)
        {
            throw new ArgumentException($"{levels.Count} levels for {cells.Count} cells.", nameof(levels));
        }
        List<CellSpan> spans = ProgramSpans(cells);
        byte bits = PackedLevels.BitsFor(Board?.LevelsPerCell ?? 2);
        return await InOrder(spans.Select<CellSpan, Task<StatusCode[]>>(async span =>
        {
            if (span.IsRectangle)
            {
                ushort[] packed = [.. Enumerable.Range(span.Start, span.Count).Select(i => checked((ushort)levels[i]))];
                var request = new ProgramLevelsRequest(cells[span.Start], span.Rows, span.Columns, bits, packed);
                return (await SendAsync<ProgramLevelsResponse>(request, cancellationToken).ConfigureAwait(false)).Statuses(span.Count);
            }
            ProgramTarget[] targets = [.. Enumerable.Range(span.Start, span.Count).Select(i => new ProgramTarget(cells[i], TargetKind.Level, levels[i]))];
            ProgramResponse answer = await SendAsync<ProgramResponse>(new ProgramRequest(targets), cancellationToken).ConfigureAwait(false);
            return [.. Counted(answer.Cells, span.Count, "PROGRAM", "statuses")];
        })).ConfigureAwait(false);
    }

    /// <summary>
    /// The commands <see cref="VerifyLevelsAsync"/> sends for these cells, in order: where the board has VERIFY_LEVELS, a
    /// masked rectangle for each run of cells of one tile in row-major order (up to max_batch cells, the rectangle no
    /// sparser than two bytes of mask for each cell it verifies), and PROGRAM_VERIFY lists for the rest; without it,
    /// PROGRAM_VERIFY lists. A resuming session counts and judges by them.
    /// </summary>
    public List<CellSpan> VerifySpans(IReadOnlyList<CellAddress> cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        int perList = ItemsPerCommand(VerifyTarget.WireLength, VerifyOutcome.WireLength);
        if (Board is not { } board || (board.Capabilities & BoardCapabilities.VerifyLevels) == 0)
        {
            return CellSpans.Cut(cells.Count, perList, _ => null);
        }
        int bits = PackedLevels.BitsFor(board.LevelsPerCell);
        int maxVerified = Math.Min(board.MaxBatch, (MaxResponse - 2) / VerifyLevelsOutcome.WireLength);
        return CellSpans.Cut(cells.Count, perList, start => MaskedRun(cells, start, board, bits, maxVerified) is var (end, rows, columns) && end - start >= 2
            ? new CellSpan(start, end - start, rows, columns) : null);
    }

    /// <summary>
    /// The longest run from <paramref name="start"/> of cells of one tile in strictly row-major order whose bounding
    /// rectangle's mask fits the payload and costs at most two bytes a verified cell (a selection of one in sixteen); returns its end and the rectangle.
    /// </summary>
    private static (int End, ushort Rows, ushort Columns) MaskedRun(IReadOnlyList<CellAddress> cells, int start, BoardInfo board, int bits, int maxVerified)
    {
        CellAddress first = cells[start];
        int top = first.Row, bottom = first.Row, left = first.Column, right = first.Column;
        int end = start + 1;
        while (end < cells.Count && end - start < maxVerified)
        {
            CellAddress next = cells[end], previous = cells[end - 1];
            if (next.Tile != first.Tile || next.Row < previous.Row || (next.Row == previous.Row && next.Column <= previous.Column))
            {
                break;
            }
            int newLeft = Math.Min(left, next.Column), newRight = Math.Max(right, next.Column);
            long area = (long)(next.Row - top + 1) * (newRight - newLeft + 1);
            int verified = end - start + 1;
            long payload = VerifyLevelsRequest.HeaderLength + (area + 7) / 8 + PackedLevels.Length(verified, bits);
            if ((area + 7) / 8 > 2L * verified || payload > board.MaxPayload)
            {
                break;
            }
            (bottom, left, right) = (next.Row, newLeft, newRight);
            end++;
        }
        return (end, (ushort)(bottom - top + 1), (ushort)(right - left + 1));
    }

    /// <summary>
    /// The board's write-verify loop for each cell to its level's conductance (<paramref name="toleranceMicrosiemens"/>,
    /// at most <paramref name="maxIterations"/> each): VERIFY_LEVELS for stretches of rows where the board has it (a bit a
    /// cell of mask and the level's bits, not 16 bytes a cell), PROGRAM_VERIFY elsewhere. Returns each cell's status
    /// and the iterations its loop took.
    /// </summary>
    public async Task<VerifyLevelsOutcome[]> VerifyLevelsAsync(IReadOnlyList<CellAddress> cells, IReadOnlyList<int> levels, float toleranceMicrosiemens, ushort maxIterations,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(levels);
        BoardInfo board = Board ?? throw new InvalidOperationException("IDENTIFY the board first: verifying to levels needs its conductance window.");
        if (levels.Count != cells.Count)
        {
            throw new ArgumentException($"{levels.Count} levels for {cells.Count} cells.", nameof(levels));
        }
        double gMin = board.ConductanceMinMicrosiemens, levelStep = (board.ConductanceMaxMicrosiemens - gMin) / (board.LevelsPerCell - 1.0);
        byte bits = PackedLevels.BitsFor(board.LevelsPerCell);
        return await InOrder(VerifySpans(cells).Select<CellSpan, Task<VerifyLevelsOutcome[]>>(async span =>
        {
            if (span.IsRectangle)
            {
                // The rectangle's origin: the first cell's row, the run's leftmost column.
                var origin = new CellAddress(cells[span.Start].Tile, cells[span.Start].Row,
                    Enumerable.Range(span.Start, span.Count).Min(i => cells[i].Column));
                var mask = new bool[span.Rows * span.Columns];
                for (int i = span.Start; i < span.Start + span.Count; i++)
                {
                    mask[(cells[i].Row - origin.Row) * span.Columns + cells[i].Column - origin.Column] = true;
                }
                var request = new VerifyLevelsRequest(origin, span.Rows, span.Columns, bits, toleranceMicrosiemens, maxIterations, mask,
                    [.. Enumerable.Range(span.Start, span.Count).Select(i => checked((ushort)levels[i]))]);
                VerifyLevelsResponse answer = await SendAsync<VerifyLevelsResponse>(request, cancellationToken).ConfigureAwait(false);
                return [.. Counted(answer.Outcomes, span.Count, "VERIFY_LEVELS", "outcomes")];
            }
            VerifyTarget[] targets = [.. Enumerable.Range(span.Start, span.Count)
                .Select(i => new VerifyTarget(cells[i], (float)(gMin + levels[i] * levelStep), toleranceMicrosiemens, maxIterations))];
            ProgramVerifyResponse listed = await SendAsync<ProgramVerifyResponse>(new ProgramVerifyRequest(targets), cancellationToken).ConfigureAwait(false);
            return [.. Counted(listed.Outcomes, span.Count, "PROGRAM_VERIFY", "outcomes").Select(o => new VerifyLevelsOutcome(o.Status, o.Iterations))];
        })).ConfigureAwait(false);
    }

    /// <summary>The board's own write-verify loop for each target; returns each cell's outcome.</summary>
    public async Task<VerifyOutcome[]> ProgramVerifyAsync(IReadOnlyList<VerifyTarget> targets, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(targets);
        IReadOnlyList<VerifyOutcome>[] parts = await Chunked(targets, VerifyTarget.WireLength,
            chunk => SendAsync<ProgramVerifyResponse>(new ProgramVerifyRequest(chunk), cancellationToken), r => r.Outcomes, VerifyOutcome.WireLength).ConfigureAwait(false);
        return [.. parts.SelectMany(p => p)];
    }

    public async Task WritePulsesAsync(IReadOnlyList<Pulse> pulses, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pulses);
        await Chunked(pulses, Pulse.WireLength,
            chunk => SendAsync<WritePulseResponse>(new WritePulseRequest(chunk), cancellationToken), r => r.PulsesApplied).ConfigureAwait(false);
    }

    public async Task<CellCounters[]> CountersAsync(IReadOnlyList<CellAddress> cells, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cells);
        IReadOnlyList<CellCounters>[] parts = await Chunked(cells, CellAddress.WireLength,
            chunk => SendAsync<CountersResponse>(new CountersRequest(chunk), cancellationToken), r => r.Cells, CellCounters.WireLength).ConfigureAwait(false);
        return [.. parts.SelectMany(p => p)];
    }

    /// <summary>Several requests in one frame; each sub-request answers with its own status.</summary>
    public async Task<IReadOnlyList<SubResponse>> BatchAsync(IReadOnlyList<BoardRequest> requests, CancellationToken cancellationToken = default) =>
        (await SendAsync<BatchResponse>(new BatchRequest(requests), cancellationToken).ConfigureAwait(false)).Responses;

    /// <summary>
    /// Items per command: the board's maximum batch, no more than fit its payload limit, and no more than an answer of
    /// <paramref name="answerItemLength"/> bytes an item can carry in one frame.
    /// </summary>
    public int ItemsPerCommand(int itemWireLength, int answerItemLength = 0)
    {
        int maxBatch = Board?.MaxBatch ?? DefaultMaxBatch;
        int maxPayload = Board?.MaxPayload ?? Framing.ProtocolConstants.MaxPayloadLengthOf(ProtocolVersion);
        int byAnswer = answerItemLength > 0 ? (MaxResponse - 2) / answerItemLength : int.MaxValue;
        return Math.Max(1, Math.Min(Math.Min(maxBatch, byAnswer), (maxPayload - 2) / itemWireLength));
    }

    private async Task<TPart[]> Chunked<TItem, TResponse, TPart>(IReadOnlyList<TItem> items, int itemWireLength,
        Func<TItem[], Task<TResponse>> send, Func<TResponse, TPart> part, int answerItemLength = 0)
    {
        int size = ItemsPerCommand(itemWireLength, answerItemLength);
        var tasks = new List<Task<TResponse>>();
        for (int start = 0; start < items.Count; start += size)
        {
            TItem[] chunk = items.Skip(start).Take(size).ToArray();
            tasks.Add(send(chunk));
        }
        TResponse[] responses = await Task.WhenAll(tasks).ConfigureAwait(false);
        return [.. responses.Select(part)];
    }
}
