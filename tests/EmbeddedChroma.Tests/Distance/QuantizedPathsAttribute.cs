using System.Reflection;
using System.Runtime.Intrinsics;
using Xunit.Sdk;

namespace EmbeddedChroma.Tests.Distance;

/// <summary>
/// Theory rows naming the <see cref="EmbeddedChroma.Distance.QuantizedMath"/> paths of one vector width: 0 gives the
/// dispatcher and the scalar body, 128/256/512 the Vector128/256/512 body. A width this CPU does not accelerate is
/// reported as skipped, with the reason, rather than left out silently.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class QuantizedPathsAttribute : DataAttribute
{
    private readonly int _bits;

    public QuantizedPathsAttribute(int bits)
    {
        _bits = bits;
        bool accelerated = bits switch
        {
            0 => true,
            128 => Vector128.IsHardwareAccelerated,
            256 => Vector256.IsHardwareAccelerated,
            512 => Vector512.IsHardwareAccelerated,
            _ => throw new ArgumentOutOfRangeException(nameof(bits), bits, "0, 128, 256 or 512."),
        };
        if (!accelerated)
        {
            Skip = $"This CPU does not accelerate Vector{bits}, so the Vector{bits} body cannot run here (the dispatcher never picks it).";
        }
    }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) =>
        _bits == 0 ? [["Dispatch"], ["Scalar"]] : [[$"Vector{_bits}"]];
}
