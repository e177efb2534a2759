namespace Swim.Controller.Sessions;

/// <summary>How far a programming session is: <paramref name="Done"/> of <paramref name="Total"/> cells in <paramref name="Phase"/>.</summary>
/// <param name="Phase">One of <see cref="Phases"/>, in that order ("measure" only for selections that read every cell first).</param>
public readonly record struct SessionProgress(string Phase, int Done, int Total)
{
    private static readonly string[] s_phases = ["program", "measure", "verify", "read back"];

    public static IReadOnlyList<string> Phases => s_phases;

    /// <summary>The session's progress as one number, 0 to <see cref="Phases"/>.Count: whole phases done plus the fraction of this one.</summary>
    /// <summary>For a reporter's progress display: <see cref="Overall"/>, named by the phase under way.</summary>
    public StepProgress AsStep => new(Overall, Phase);

    public double Overall => Math.Max(0, Array.IndexOf(s_phases, Phase)) + (Total == 0 ? 1 : Done / (double)Total);
}
