namespace Swim.Controller.Data;

/// <summary>Consecutive samples: features row-major (Count x SampleSize) and their integer labels.</summary>
public sealed record DataBatch(float[] Features, long[] Labels, int Count, int FirstIndex);
