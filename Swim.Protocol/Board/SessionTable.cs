using Swim.Protocol.Messages;

namespace Swim.Protocol.Board;

/// <summary>
/// A version 2 board's sessions (firmware-spec/protocol.md, section 3): at most <see cref="MaxSessions"/>, each with
/// its own window; at most one holds the write lease. OPEN is idempotent by nonce: a retransmitted OPEN finds the
/// session its first attempt made. A lease lapses <see cref="LeaseMs"/> after its session's latest request, but only
/// another host's OPEN for writing takes it; until then its holder's next request simply goes on.
/// </summary>
internal sealed class SessionTable
{
    private readonly List<BoardSession> _sessions = [];
    private readonly int _depth;
    private readonly TimeProvider _time;
    private ushort _nextId;

    public SessionTable(int maxSessions, int depth, uint leaseMs, TimeProvider time)
    {
        MaxSessions = maxSessions;
        _depth = depth;
        LeaseMs = leaseMs;
        _time = time;
        // Ids start somewhere unpredictable, so that a stray frame from before a power cycle names no session.
        _nextId = (ushort)Random.Shared.Next(1, ushort.MaxValue);
    }

    public int MaxSessions { get; }

    public uint LeaseMs { get; }

    public int Count => _sessions.Count;

    /// <summary>The session <paramref name="id"/> names, marked active now; null when the board holds none by that id.</summary>
    public BoardSession? Find(ushort id)
    {
        BoardSession? session = _sessions.Find(s => s.Id == id);
        if (session is not null)
        {
            session.LastActiveMs = NowMs;
        }
        return session;
    }

    public (StatusCode Status, OpenResponse? Answer) Open(OpenRequest request)
    {
        BoardSession? session = request.ResumeSession != 0
            ? _sessions.Find(s => s.Id == request.ResumeSession)
            : _sessions.Find(s => s.Nonce == request.Nonce);
        if (request.ResumeSession != 0 && (session is null || session.Nonce != request.Nonce))
        {
            // Lost with power, evicted, or somebody else's: its cache is gone, so nothing it sent may be resent blindly.
            return (StatusCode.NoSession, null);
        }
        BoardSession? holder = _sessions.Find(s => s.HoldsLease);
        long now = NowMs;
        if (request.ForWriting && holder is not null && holder != session && now - holder.LastActiveMs <= LeaseMs)
        {
            return (StatusCode.LeaseHeld, null);
        }
        session ??= Create(request.Nonce);
        if (request.ForWriting && holder != session)
        {
            if (holder is not null)
            {
                holder.HoldsLease = false;
            }
            session.HoldsLease = true;
        }
        else if (!request.ForWriting)
        {
            session.HoldsLease = false;
        }
        session.LastActiveMs = now;
        return (StatusCode.Ok, new OpenResponse(session.Id, session.HoldsLease, LeaseMs, (ushort)_depth, request.ResumeSession != 0,
            session.Window.Any ? session.Window.Newest : 0));
    }

    /// <summary>CLOSE: the session, its cache and its lease go.</summary>
    public void Close(BoardSession session) => _sessions.Remove(session);

    /// <summary>Power lost: every session and its cache with it.</summary>
    public void Clear() => _sessions.Clear();

    private BoardSession Create(ulong nonce)
    {
        if (_sessions.Count >= MaxSessions)
        {
            // The least recently active session that does not hold the lease makes room; there is always one, as MaxSessions >= 2.
            BoardSession oldest = _sessions.Where(s => !s.HoldsLease).MinBy(s => s.LastActiveMs)!;
            _sessions.Remove(oldest);
        }
        while (_nextId == 0 || _sessions.Exists(s => s.Id == _nextId))
        {
            _nextId++;
        }
        var session = new BoardSession(_nextId++, nonce, _depth);
        _sessions.Add(session);
        return session;
    }

    private long NowMs => _time.GetTimestamp() * 1000 / _time.TimestampFrequency;
}
