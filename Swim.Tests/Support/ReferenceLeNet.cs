using Swim.Controller.Onnx;

namespace Swim.Tests.Support;

/// <summary>
/// An independent, loop-by-loop double-precision implementation of <see cref="TestNets.SmallLeNet"/>:
/// conv 3x3 pad 1 (1->3), ReLU, max pool 2, conv 3x3 (3->4), ReLU, average pool 2, dense 4->6, ReLU, dense
/// 6->3, softmax cross-entropy. It computes the gradient, SWIM's OBD diagonal (squared coefficients,
/// squared inputs) and the exact Gauss-Newton diagonal (per-class square-root factor, per-sample squares)
/// of the summed loss, sharing no code with the derivative graph.
/// </summary>
public sealed class ReferenceLeNet
{
    private readonly Dictionary<string, double[]> _w;

    public ReferenceLeNet(OnnxModel model)
    {
        _w = new[] { "c1.weight", "c1.bias", "c2.weight", "c2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" }
            .ToDictionary(n => n, n => model.ReadWeights(n).Select(v => (double)v).ToArray());
    }

    public double Loss { get; private set; }

    public Dictionary<string, double[]> Gradient { get; } = new();

    public Dictionary<string, double[]> Obd { get; } = new();

    public Dictionary<string, double[]> Ggn { get; } = new();

    public void Run(float[] x, long[] labels)
    {
        foreach (var store in new[] { Gradient, Obd, Ggn })
        {
            foreach ((string name, double[] w) in _w)
            {
                store[name] = new double[w.Length];
            }
        }
        Loss = 0;
        for (int n = 0; n < labels.Length; n++)
        {
            var a0 = new double[64];
            for (int i = 0; i < 64; i++)
            {
                a0[i] = x[n * 64 + i];
            }
            var s = new Sample(this, a0);
            double[] p = Softmax(s.Z4);
            int y = (int)labels[n];
            Loss += -Math.Log(p[y]);
            var dz = new double[3];
            var hz = new double[3];
            for (int c = 0; c < 3; c++)
            {
                dz[c] = p[c] - (c == y ? 1 : 0);
                hz[c] = p[c] * (1 - p[c]);
            }
            Add(Gradient, s.Backward(dz, squared: false));
            Add(Obd, s.Backward(hz, squared: true));
            for (int c = 0; c < 3; c++)
            {
                var column = new double[3];
                for (int k = 0; k < 3; k++)
                {
                    column[k] = Math.Sqrt(p[c]) * ((k == c ? 1 : 0) - p[k]);
                }
                Dictionary<string, double[]> perSample = s.Backward(column, squared: false);
                foreach ((string name, double[] g) in perSample)
                {
                    for (int i = 0; i < g.Length; i++)
                    {
                        Ggn[name][i] += g[i] * g[i];
                    }
                }
            }
        }
    }

    private static void Add(Dictionary<string, double[]> into, Dictionary<string, double[]> values)
    {
        foreach ((string name, double[] v) in values)
        {
            for (int i = 0; i < v.Length; i++)
            {
                into[name][i] += v[i];
            }
        }
    }

    private static double[] Softmax(double[] z)
    {
        double max = z.Max();
        double[] e = z.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    /// <summary>One sample's forward values, and its backward passes.</summary>
    private sealed class Sample
    {
        private readonly ReferenceLeNet _net;
        private readonly double[] _a0;
        private readonly double[] _z1 = new double[3 * 8 * 8];
        private readonly double[] _p1 = new double[3 * 4 * 4];
        private readonly int[] _argmax = new int[3 * 4 * 4];
        private readonly double[] _z2 = new double[4 * 2 * 2];
        private readonly double[] _f = new double[4];
        private readonly double[] _z3 = new double[6];

        public Sample(ReferenceLeNet net, double[] a0)
        {
            _net = net;
            _a0 = a0;
            Conv1(net._w["c1.weight"], net._w["c1.bias"]);
            Pool1();
            Conv2(net._w["c2.weight"], net._w["c2.bias"]);
            Z3Forward();
            Z4 = Dense(net._w["fc2.weight"], net._w["fc2.bias"], _z3.Select(v => Math.Max(0, v)).ToArray(), 3);
        }

        private void Conv1(double[] w1, double[] b1)
        {
        for (int m = 0; m < 3; m++)
        {
            for (int i = 0; i < 8; i++)
            {
                for (int j = 0; j < 8; j++)
                {
                    double sum = b1[m];
                    for (int u = 0; u < 3; u++)
                    {
                        for (int v = 0; v < 3; v++)
                        {
                            sum += w1[(m * 3 + u) * 3 + v] * In1(i + u - 1, j + v - 1);
                        }
                    }
                    _z1[(m * 8 + i) * 8 + j] = sum;
                }
            }
        }
        }

        private void Pool1()
        {
        for (int c = 0; c < 3; c++)
        {
            for (int i = 0; i < 4; i++)
            {
                for (int j = 0; j < 4; j++)
                {
                    int best = -1;
                    double value = double.NegativeInfinity;
                    for (int u = 0; u < 2; u++)
                    {
                        for (int v = 0; v < 2; v++)
                        {
                            int at = (c * 8 + 2 * i + u) * 8 + 2 * j + v;
                            double a = Math.Max(0, _z1[at]);
                            if (a > value)
                            {
                                value = a;
                                best = at;
                            }
                        }
                    }
                    _p1[(c * 4 + i) * 4 + j] = value;
                    _argmax[(c * 4 + i) * 4 + j] = best;
                }
            }
        }
        }

        private void Conv2(double[] w2, double[] b2)
        {
        for (int m = 0; m < 4; m++)
        {
            for (int i = 0; i < 2; i++)
            {
                for (int j = 0; j < 2; j++)
                {
                    double sum = b2[m];
                    for (int c = 0; c < 3; c++)
                    {
                        for (int u = 0; u < 3; u++)
                        {
                            for (int v = 0; v < 3; v++)
                            {
                                sum += w2[((m * 3 + c) * 3 + u) * 3 + v] * _p1[(c * 4 + i + u) * 4 + j + v];
                            }
                        }
                    }
                    _z2[(m * 2 + i) * 2 + j] = sum;
                }
            }
            _f[m] = Enumerable.Range(0, 4).Sum(k => Math.Max(0, _z2[m * 4 + k])) / 4;
        }
        }

        public double[] Z4 { get; }

        private double In1(int i, int j) => i is < 0 or >= 8 || j is < 0 or >= 8 ? 0 : _a0[i * 8 + j];

        private void Z3Forward() => Dense(_net._w["fc1.weight"], _net._w["fc1.bias"], _f, 6).CopyTo(_z3, 0);

        private static double[] Dense(double[] w, double[] b, double[] x, int outputs)
        {
            var z = new double[outputs];
            for (int o = 0; o < outputs; o++)
            {
                z[o] = b[o];
                for (int k = 0; k < x.Length; k++)
                {
                    z[o] += w[o * x.Length + k] * x[k];
                }
            }
            return z;
        }

        /// <summary>
        /// Carries <paramref name="seed"/> at the logits back to every parameter. Linear: the chain rule.
        /// Squared (OBD): each coefficient and each input in a weight term is squared.
        /// </summary>
        public Dictionary<string, double[]> Backward(double[] seed, bool squared)
        {
            double Q(double v) => squared ? v * v : v;
            var r = _net._w.ToDictionary(p => p.Key, p => new double[p.Value.Length]);
            double[] a3 = _z3.Select(v => Math.Max(0, v)).ToArray();
            double[] w4 = _net._w["fc2.weight"], w3 = _net._w["fc1.weight"];
            var da3 = new double[6];
            for (int o = 0; o < 3; o++)
            {
                r["fc2.bias"][o] += seed[o];
                for (int k = 0; k < 6; k++)
                {
                    r["fc2.weight"][o * 6 + k] += seed[o] * Q(a3[k]);
                    da3[k] += Q(w4[o * 6 + k]) * seed[o];
                }
            }
            var dz3 = da3.Select((d, k) => _z3[k] > 0 ? d : 0).ToArray();
            var df = new double[4];
            for (int o = 0; o < 6; o++)
            {
                r["fc1.bias"][o] += dz3[o];
                for (int k = 0; k < 4; k++)
                {
                    r["fc1.weight"][o * 4 + k] += dz3[o] * Q(_f[k]);
                    df[k] += Q(w3[o * 4 + k]) * dz3[o];
                }
            }
            var dz2 = new double[16];
            for (int m = 0; m < 4; m++)
            {
                for (int k = 0; k < 4; k++)
                {
                    dz2[m * 4 + k] = _z2[m * 4 + k] > 0 ? df[m] * Q(0.25) : 0;
                }
            }
            double[] dp1 = Conv2Backward(dz2, r, Q);
            var dz1 = new double[3 * 8 * 8];
            for (int k = 0; k < dp1.Length; k++)
            {
                int at = _argmax[k];
                if (_z1[at] > 0)
                {
                    dz1[at] += dp1[k];
                }
            }
            Conv1Backward(dz1, r, Q);
            return r;
        }

        private double[] Conv2Backward(double[] dz2, Dictionary<string, double[]> r, Func<double, double> Q)
        {
            double[] w2 = _net._w["c2.weight"];
            var dp1 = new double[3 * 4 * 4];
            for (int m = 0; m < 4; m++)
            {
                for (int i = 0; i < 2; i++)
                {
                    for (int j = 0; j < 2; j++)
                    {
                        double d = dz2[(m * 2 + i) * 2 + j];
                        r["c2.bias"][m] += d;
                        for (int c = 0; c < 3; c++)
                        {
                            for (int u = 0; u < 3; u++)
                            {
                                for (int v = 0; v < 3; v++)
                                {
                                    int wi = ((m * 3 + c) * 3 + u) * 3 + v;
                                    int xi = (c * 4 + i + u) * 4 + j + v;
                                    r["c2.weight"][wi] += d * Q(_p1[xi]);
                                    dp1[xi] += Q(w2[wi]) * d;
                                }
                            }
                        }
                    }
                }
            }
            return dp1;
        }

        private void Conv1Backward(double[] dz1, Dictionary<string, double[]> r, Func<double, double> Q)
        {
            for (int m = 0; m < 3; m++)
            {
                for (int i = 0; i < 8; i++)
                {
                    for (int j = 0; j < 8; j++)
                    {
                        double d = dz1[(m * 8 + i) * 8 + j];
                        r["c1.bias"][m] += d;
                        for (int u = 0; u < 3; u++)
                        {
                            for (int v = 0; v < 3; v++)
                            {
                                r["c1.weight"][(m * 3 + u) * 3 + v] += d * Q(In1(i + u - 1, j + v - 1));
                            }
                        }
                    }
                }
            }
        }
    }
}
