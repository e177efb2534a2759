namespace Swim.Controller.Onnx;

/// <summary>A model file that Swim cannot use; the message says which file, what is wrong and what to do.</summary>
public sealed class OnnxModelException : SwimInputException
{
    public OnnxModelException(string message) : base(message) { }

    public OnnxModelException(string message, Exception inner) : base(message, inner) { }
}
