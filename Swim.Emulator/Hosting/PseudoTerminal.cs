using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Swim.Emulator.Hosting;

/// <summary>
/// A pseudo-terminal pair made with the C library (posix_openpt, grantpt, unlockpt, ptsname_r): the emulator
/// serves the master side; a host opens the slave path (e.g. /dev/pts/3) with System.IO.Ports as it would a
/// USB serial adapter. Linux only.
/// </summary>
public sealed partial class PseudoTerminal : IDisposable
{
    private const int OpenReadWrite = 0x2;
    private const int OpenNoControllingTerminal = 0x100;
    private const int TermiosSize = 60;
    private const int SetNow = 0;

    private readonly SafeFileHandle _master;
    private readonly SafeFileHandle _heldSlave;

    private PseudoTerminal(SafeFileHandle master, SafeFileHandle heldSlave, string slavePath)
    {
        _master = master;
        _heldSlave = heldSlave;
        SlavePath = slavePath;
        Stream = new FileStream(master, FileAccess.ReadWrite, bufferSize: 0, isAsync: false);
    }

    /// <summary>The device path a host opens, e.g. /dev/pts/3.</summary>
    public string SlavePath { get; }

    /// <summary>The master side: bytes the host writes arrive here; bytes written here reach the host.</summary>
    public Stream Stream { get; }

    public static PseudoTerminal Open()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("the virtual serial port needs Linux pseudo-terminals; use --tcp on this system.");
        }
        int fd = PosixOpenPt(OpenReadWrite | OpenNoControllingTerminal);
        if (fd < 0)
        {
            throw new IOException($"posix_openpt failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        var master = new SafeFileHandle(fd, ownsHandle: true);
        if (GrantPt(fd) != 0 || UnlockPt(fd) != 0)
        {
            master.Dispose();
            throw new IOException($"grantpt/unlockpt failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        var name = new byte[256];
        if (PtsNameR(fd, name, (nuint)name.Length) != 0)
        {
            master.Dispose();
            throw new IOException("ptsname_r failed.");
        }
        string path = System.Text.Encoding.ASCII.GetString(name, 0, Array.IndexOf(name, (byte)0));
        MakeRaw(fd);
        // Holding the slave open keeps the master from reporting EIO while no host has the port open.
        int slave = OpenFile(path, OpenReadWrite | OpenNoControllingTerminal);
        if (slave < 0)
        {
            master.Dispose();
            throw new IOException($"cannot open {path} (errno {Marshal.GetLastPInvokeError()}).");
        }
        return new PseudoTerminal(master, new SafeFileHandle(slave, ownsHandle: true), path);
    }

    /// <summary>No echo, no line editing, no translation: the bytes pass as they are.</summary>
    private static void MakeRaw(int fd)
    {
        var termios = new byte[TermiosSize + 64];
        if (TcGetAttr(fd, termios) == 0)
        {
            CfMakeRaw(termios);
            TcSetAttr(fd, SetNow, termios);
        }
    }

    public void Dispose()
    {
        Stream.Dispose();
        _heldSlave.Dispose();
        _master.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    private static partial int PosixOpenPt(int flags);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    private static partial int GrantPt(int fd);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    private static partial int UnlockPt(int fd);

    [LibraryImport("libc", EntryPoint = "ptsname_r", SetLastError = true)]
    private static partial int PtsNameR(int fd, [Out] byte[] buffer, nuint length);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenFile(string path, int flags);

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    private static partial int TcGetAttr(int fd, [Out] byte[] termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    private static partial int TcSetAttr(int fd, int actions, byte[] termios);

    [LibraryImport("libc", EntryPoint = "cfmakeraw")]
    private static partial void CfMakeRaw([In, Out] byte[] termios);
}
