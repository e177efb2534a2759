namespace Swim.Protocol.Messages;

/// <summary>
/// OPEN (version 2, sent outside any session): asks for a session, for writing (the write lease) or reading only.
/// <see cref="Nonce"/> is the host's random name for it, so a retransmitted OPEN finds the session its first attempt
/// opened; <see cref="ResumeSession"/> (0 for a new session) with the same nonce reopens a session a crashed host held.
/// </summary>
public sealed record OpenRequest(ulong Nonce, bool ForWriting, ushort ResumeSession) : BoardRequest
{
    public override bool Changes => false;


    public const int WireLength = 8 + 1 + 2;

    public override Opcode Opcode => Opcode.Open;

    public override int PayloadLength => WireLength;

    public override int MaxResponseLength => OpenResponse.WireLength;

    public override void Write(ref PayloadWriter writer)
    {
        writer.U64(Nonce);
        writer.U8(ForWriting ? (byte)1 : (byte)0);
        writer.U16(ResumeSession);
    }

    internal static OpenRequest Read(ref PayloadReader r)
    {
        ulong nonce = r.U64();
        byte flags = r.U8();
        if (flags > 1)
        {
            throw new MalformedPayloadException($"OPEN flags 0x{flags:X2} set bits other than bit 0 (write).");
        }
        return new OpenRequest(nonce, flags == 1, r.U16());
    }
}

/// <summary>
/// The session granted: its id (never 0), whether it holds the write lease, how long the lease lasts without a
/// request (ms), the window K of numbers it caches, whether it is a session reopened, and the newest number it
/// executed (0 when none), from which a host that lost its own record goes on.
/// </summary>
public sealed record OpenResponse(ushort Session, bool HoldsLease, uint LeaseMs, ushort Window, bool Resumed, uint Newest) : BoardResponse
{
    public const int WireLength = 2 + 1 + 4 + 2 + 1 + 4;

    public override Opcode Opcode => Opcode.Open;

    public override int PayloadLength => WireLength;

    public override void Write(ref PayloadWriter writer)
    {
        writer.U16(Session);
        writer.U8(HoldsLease ? (byte)1 : (byte)0);
        writer.U32(LeaseMs);
        writer.U16(Window);
        writer.U8(Resumed ? (byte)1 : (byte)0);
        writer.U32(Newest);
    }

    internal static OpenResponse Read(ref PayloadReader r) => new(r.U16(), r.U8() != 0, r.U32(), r.U16(), r.U8() != 0, r.U32());
}

/// <summary>
/// CLOSE (version 2, sent in the session it ends): the board drops the session, its cache and its write lease, so that
/// another host can take the lease at once. A repeat finds no session (NO_SESSION), which tells its host the same.
/// </summary>
public sealed record CloseRequest : BoardRequest
{
    public override bool Changes => false;

    public override Opcode Opcode => Opcode.Close;

    public override int PayloadLength => 0;

    public override int MaxResponseLength => 0;

    public override void Write(ref PayloadWriter writer) { }
}

public sealed record CloseResponse : BoardResponse
{
    public override Opcode Opcode => Opcode.Close;

    public override int PayloadLength => 0;

    public override void Write(ref PayloadWriter writer) { }
}
