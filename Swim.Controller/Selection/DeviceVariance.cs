using Swim.Controller.Mapping;
using Swim.Devices;

namespace Swim.Controller.Selection;

/// <summary>
/// A cell's open-loop programming variance (uS^2) at its target level, from a device profile: cycle-to-cycle
/// sigma times the state-dependent factor, plus device-to-device sigma, both fractions of the window.
/// </summary>
public static class DeviceVariance
{
    public static Func<CellPlan, Func<int, double>> From(DevicePreset preset)
    {
        ArgumentNullException.ThrowIfNull(preset);
        return plan =>
        {
            double window = plan.Mapping.ConductanceMax - plan.Mapping.ConductanceMin;
            return cell =>
            {
                double sigma = preset.ProgramSigma * preset.SigmaFactorAt(preset.ConductanceMin + (plan.TargetConductance(cell) - plan.Mapping.ConductanceMin) / window * preset.Window);
                return window * window * (sigma * sigma + preset.DeviceSigma * preset.DeviceSigma);
            };
        };
    }
}
