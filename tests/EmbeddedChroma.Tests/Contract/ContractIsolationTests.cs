using System.Reflection;
using System.Reflection.Emit;

namespace EmbeddedChroma.Tests.Contract;

/// <summary>
/// The contract suite must run unchanged against any <see cref="IChromaClient"/>: apart from <see cref="EmbeddedTarget"/>,
/// nothing in this folder may use a type or member of the embedded assembly (ChromaStore, ChromaClient, Collection,
/// StoreFixture's store …). Checked over the compiled code, async state machines and lambdas included.
/// </summary>
public sealed class ContractIsolationTests
{
    private static readonly Assembly EmbeddedAssembly = typeof(ChromaStore).Assembly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    [Fact]
    public void Contract_suite_uses_nothing_of_the_embedded_assembly_outside_EmbeddedTarget()
    {
        var contractTypes = typeof(ContractIsolationTests).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(ContractIsolationTests).Namespace)
            .Where(t => Outermost(t) != typeof(EmbeddedTarget) && Outermost(t) != typeof(ContractIsolationTests))
            .ToList();

        var offenders = contractTypes.SelectMany(t => EmbeddedReferences(t).Select(r => $"{t.FullName}: {r}")).Distinct().ToList();

        contractTypes.Should().Contain(typeof(AddContract<>)).And.Contain(typeof(WhereFilterContractEmbedded));
        offenders.Should().BeEmpty("the contract suite must run against an implementation that is only an IChromaClient");
    }

    [Fact]
    public void EmbeddedReferences_finds_the_store_when_a_type_uses_it()
    {
        EmbeddedReferences(typeof(EmbeddedTarget)).Should().Contain(r => r.Contains(nameof(ChromaStore), StringComparison.Ordinal));
        EmbeddedReferences(typeof(ContractSuite<>)).Should().BeEmpty();
    }

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        return type;
    }

    private static bool IsEmbedded(Type? type) =>
        type is not null
        && (type.Assembly == EmbeddedAssembly
            || (type.HasElementType && IsEmbedded(type.GetElementType()))
            || (type.IsGenericType && !type.IsGenericTypeDefinition && type.GetGenericArguments().Any(IsEmbedded)));

    private static IEnumerable<string> EmbeddedReferences(Type type)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        if (IsEmbedded(type.BaseType))
        {
            yield return $"base type {type.BaseType}";
        }

        foreach (var field in type.GetFields(all).Where(f => IsEmbedded(f.FieldType)))
        {
            yield return $"field {field.Name} of type {field.FieldType}";
        }

        foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
        {
            var body = method.GetMethodBody();
            if (body is null)
            {
                continue;
            }

            foreach (var local in body.LocalVariables.Where(l => IsEmbedded(l.LocalType)))
            {
                yield return $"{method.Name}: local of type {local.LocalType}";
            }

            foreach (var member in Tokens(method, body.GetILAsByteArray() ?? []))
            {
                var embedded = member switch
                {
                    Type t => IsEmbedded(t),
                    MethodBase m => IsEmbedded(m.DeclaringType) || (m is MethodInfo mi && IsEmbedded(mi.ReturnType)) || m.GetParameters().Any(p => IsEmbedded(p.ParameterType)),
                    FieldInfo f => IsEmbedded(f.DeclaringType) || IsEmbedded(f.FieldType),
                    _ => false,
                };
                if (embedded)
                {
                    yield return $"{method.Name}: uses {member.DeclaringType?.Name}.{member.Name}";
                }
            }
        }
    }

    /// <summary>The members the IL of <paramref name="method"/> refers to (calls, fields, types, tokens).</summary>
    private static IEnumerable<MemberInfo> Tokens(MethodBase method, byte[] il)
    {
        var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        var methodArguments = method is MethodInfo { IsGenericMethod: true } generic ? generic.GetGenericArguments() : null;
        for (var i = 0; i < il.Length;)
        {
            var value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            var opCode = OpCodesByValue[value];
            switch (opCode.OperandType)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    i += 1;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    i += 8;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + (4 * BitConverter.ToInt32(il, i));
                    break;
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                    yield return method.Module.ResolveMember(BitConverter.ToInt32(il, i), typeArguments, methodArguments)!;
                    i += 4;
                    break;
                default:
                    i += 4;
                    break;
            }
        }
    }
}
