namespace Swim.Controller.Training;

/// <summary>Updates parameters in place from gradients of the mean loss.</summary>
public abstract class Optimizer
{
    /// <summary>The step size; a schedule may change it between steps.</summary>
    public double LearningRate { get; set; }

    public abstract void Step(string name, float[] parameter, ReadOnlySpan<double> gradient);

    public static Optimizer Create(string name, double learningRate, double momentum, double weightDecay) => name switch
    {
        "adam" => new Adam(learningRate, weightDecay),
        "sgd" => new SgdMomentum(learningRate, momentum, weightDecay),
        _ => throw new SwimInputException($"--optimizer '{name}' is not one of adam, sgd."),
    };
}

/// <summary>SGD with heavy-ball momentum: v = mu v + g + wd w; w -= lr v.</summary>
public sealed class SgdMomentum : Optimizer
{
    private readonly double _momentum;
    private readonly double _weightDecay;

    public SgdMomentum(double learningRate, double momentum, double weightDecay)
    {
        LearningRate = learningRate;
        _momentum = momentum;
        _weightDecay = weightDecay;
    }

    private readonly Dictionary<string, double[]> _velocity = new(StringComparer.Ordinal);

    public override void Step(string name, float[] parameter, ReadOnlySpan<double> gradient)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (!_velocity.TryGetValue(name, out double[]? v))
        {
            _velocity[name] = v = new double[parameter.Length];
        }
        for (int i = 0; i < parameter.Length; i++)
        {
            v[i] = _momentum * v[i] + gradient[i] + _weightDecay * parameter[i];
            parameter[i] = (float)(parameter[i] - LearningRate * v[i]);
        }
    }
}

/// <summary>Adam (Kingma and Ba) with bias correction, beta1 0.9, beta2 0.999, epsilon 1e-8; L2 weight decay added to the gradient.</summary>
public sealed class Adam : Optimizer
{
    private const double Beta1 = 0.9;
    private const double Beta2 = 0.999;
    private const double Epsilon = 1e-8;
    private readonly Dictionary<string, (double[] M, double[] V, int[] Step)> _state = new(StringComparer.Ordinal);
    private readonly double _weightDecay;

    public Adam(double learningRate, double weightDecay)
    {
        LearningRate = learningRate;
        _weightDecay = weightDecay;
    }

    public override void Step(string name, float[] parameter, ReadOnlySpan<double> gradient)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (!_state.TryGetValue(name, out var state))
        {
            _state[name] = state = (new double[parameter.Length], new double[parameter.Length], [0]);
        }
        int t = ++state.Step[0];
        double correction1 = 1 - Math.Pow(Beta1, t);
        double correction2 = 1 - Math.Pow(Beta2, t);
        for (int i = 0; i < parameter.Length; i++)
        {
            double g = gradient[i] + _weightDecay * parameter[i];
            state.M[i] = Beta1 * state.M[i] + (1 - Beta1) * g;
            state.V[i] = Beta2 * state.V[i] + (1 - Beta2) * g * g;
            parameter[i] = (float)(parameter[i] - LearningRate * (state.M[i] / correction1) / (Math.Sqrt(state.V[i] / correction2) + Epsilon));
        }
    }
}
