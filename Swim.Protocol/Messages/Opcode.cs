namespace Swim.Protocol.Messages;

/// <summary>Commands (firmware-spec/protocol.md, section "Commands").</summary>
public enum Opcode : byte
{
    Identify = 0x01,
    Reset = 0x02,
    Read = 0x03,
    WritePulse = 0x04,
    Program = 0x05,
    ProgramVerify = 0x06,
    Batch = 0x07,
    Status = 0x08,
    Counters = 0x09,
    ProgramLevels = 0x0A,
    ReadCodes = 0x0B,
    VerifyLevels = 0x0C,

    /// <summary>Version 2: opens (or reopens) a session; sent outside any session.</summary>
    Open = 0x0D,

    /// <summary>Version 2: ends the session it is sent in and gives up its write lease.</summary>
    Close = 0x0E,
}
