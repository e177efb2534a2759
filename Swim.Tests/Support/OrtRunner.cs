using Microsoft.ML.OnnxRuntime;

namespace Swim.Tests.Support;

/// <summary>Runs a model's first output on one float input with ONNX Runtime, for comparisons in tests.</summary>
public static class OrtRunner
{
    public static float[] Run(byte[] model, float[] input, long[] shape)
    {
        using var session = new InferenceSession(model);
        using OrtValue value = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var options = new RunOptions();
        string inputName = session.InputMetadata.Keys.First();
        string outputName = session.OutputMetadata.Keys.First();
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(options, [inputName], [value], [outputName]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
