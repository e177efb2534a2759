namespace Swim.Controller.Data;

/// <summary>A data file Swim cannot use; the message names the file, the problem and the fix.</summary>
public sealed class DataSetException : SwimInputException
{
    public DataSetException(string message) : base(message) { }

    public DataSetException(string message, Exception inner) : base(message, inner) { }
}
