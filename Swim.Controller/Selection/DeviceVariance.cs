using Swim.Controller.Mapping;
using Swim.Devices;

namespace Swim.Controller.Selection;

/// <summary>
/// Each cell's open-loop programming variance (uS^2) at its target level in a cell plan, from the device's
/// <see cref="DevicePreset.ProgrammingVariance"/>: the physics stays in Swim.Devices, this only places it on the plan.
/// </summary>
public static class DeviceVariance
{
    public static Func<CellPlan, Func<int, double>> From(DevicePreset preset)
    {
        ArgumentNullException.ThrowIfNull(preset);
        return plan =>
        {
            double window = plan.Mapping.ConductanceMax - plan.Mapping.ConductanceMin;
            return cell => window * window * preset.ProgrammingVariance((plan.TargetConductance(cell) - plan.Mapping.ConductanceMin) / window);
        };
    }
}
