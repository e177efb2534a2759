using System.Diagnostics;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;

namespace Swim.Benchmarks;

/// <summary>
/// Feeds random frames through one long-lived decoder: pure noise, valid frames, and valid frames with bit
/// flips, dropped bytes, inserted bytes or truncation, as one continuous stream in random chunk sizes, in protocol
/// versions 1 and 2 (random sessions) alike.
/// Passes when nothing throws, every undamaged frame decodes, and no damaged frame passes as valid.
/// </summary>
public static class DecoderFuzz
{
    public static int Run(TextWriter output, int frames, int seed)
    {
        var random = new Random(seed);
        var decoder = new FrameDecoder();
        var errors = new Dictionary<FrameError, long>();
        long intact = 0, intactDecoded = 0, damagedAccepted = 0, bytes = 0, noiseDecoded = 0;
        var clock = Stopwatch.StartNew();
        var expected = new Queue<(uint Sequence, bool Intact)>();
        for (int i = 0; i < frames; i++)
        {
            int kind = random.Next(10);
            uint sequence = (uint)random.NextInt64(0, uint.MaxValue);
            byte[] original = RandomFrame(random, sequence);
            byte[] wire = Damage(random, kind, (byte[])original.Clone());
            // A mutation can leave the frame as it was (a flip of a flip, say): judge by the bytes, not the mutation.
            bool isIntact = kind != 0 && wire.AsSpan().SequenceEqual(original);
            if (isIntact)
            {
                intact++;
            }
            bytes += wire.Length;
            // Damaged frames may lose their delimiter and run into the next; a leading delimiter keeps each trial separate.
            ReadOnlySpan<byte> input = [0, .. wire];
            while (!input.IsEmpty)
            {
                int chunk = Math.Min(input.Length, random.Next(1, 64));
                ReadOnlySpan<byte> part = input[..chunk];
                input = input[chunk..];
                while (decoder.TryDecode(ref part, out Frame frame, out FrameError error, out _))
                {
                    if (error != FrameError.None)
                    {
                        errors[error] = errors.GetValueOrDefault(error) + 1;
                    }
                    else if (isIntact && frame.Sequence == sequence)
                    {
                        intactDecoded++;
                    }
                    else if (kind == 0 || frame.Sequence != sequence)
                    {
                        noiseDecoded++;
                    }
                    else
                    {
                        damagedAccepted++;
                        output.WriteLine($"  damaged frame accepted (mutation {kind}): sent {Convert.ToHexString(original)}, received {Convert.ToHexString(wire)}");
                    }
                }
            }
        }
        double seconds = clock.Elapsed.TotalSeconds;
        output.WriteLine($"fuzz: {frames:N0} frames ({bytes:N0} bytes) in {seconds:F1} s, seed {seed}: no exception");
        output.WriteLine($"  intact frames decoded {intactDecoded:N0} of {intact:N0}; damaged frames accepted as valid {damagedAccepted}; noise accepted as valid {noiseDecoded}");
        output.WriteLine($"  blocks dropped: {string.Join(", ", errors.OrderBy(e => e.Key).Select(e => $"{e.Key} {e.Value:N0}"))}");
        return intactDecoded == intact && damagedAccepted == 0 ? 0 : 1;
    }

    /// <summary>Mutation <paramref name="kind"/>: 0 noise instead of the frame, 1 a flipped bit, 2 bytes cut out, 3 a byte put in, else the frame as it is.</summary>
    /// <summary>A valid frame of random payload, in either version (version 2 in a random session): one decoder (a host's) takes both.</summary>
    private static byte[] RandomFrame(Random random, uint sequence)
    {
        var payload = new byte[random.Next(0, 300)];
        random.NextBytes(payload);
        byte version = random.Next(2) == 0 ? ProtocolConstants.Version1 : ProtocolConstants.Version2;
        ushort session = version == ProtocolConstants.Version1 ? (ushort)0 : (ushort)random.Next(0, 65536);
        return FrameEncoder.Encode(FrameFlags.None, sequence, (byte)random.Next(1, 15), 0, payload, version, session);
    }

    private static byte[] Damage(Random random, int kind, byte[] valid)
    {
        switch (kind)
        {
            case 0:
                var noise = new byte[random.Next(1, 400)];
                random.NextBytes(noise);
                return noise;
            case 1:
                valid[random.Next(valid.Length - 1)] ^= (byte)(1 << random.Next(8));
                return valid;
            case 2:
                int cut = random.Next(valid.Length - 1);
                return [.. valid[..cut], .. valid[(cut + 1 + random.Next(Math.Min(8, valid.Length - 1 - cut)))..]];
            case 3:
                int at = random.Next(valid.Length);
                return [.. valid[..at], (byte)random.Next(1, 256), .. valid[at..]];
            default:
                return valid;
        }
    }
}
