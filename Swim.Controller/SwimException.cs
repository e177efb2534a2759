namespace Swim.Controller;

/// <summary>
/// A problem with what the user gave Swim (a file, a model, an option): the message names the problem and
/// the fix, and the command line turns it into a non-zero exit without a stack trace.
/// </summary>
public class SwimInputException : Exception
{
    public SwimInputException(string message) : base(message) { }

    public SwimInputException(string message, Exception inner) : base(message, inner) { }
}
