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
}
