using System.Reflection;
using System.Reflection.Emit;
using EmbeddedChroma.Engine;
using EmbeddedChroma.Storage;

namespace EmbeddedChroma.Tests.Architecture;

/// <summary>
/// The dependency direction inside the EmbeddedChroma assembly, read from the compiled code (reflection over every
/// type's base type, interfaces, fields, properties, method signatures, locals, and the members its IL references).
/// <code>
///   layer       may reference (besides itself)              why
///   Api         everything                                  the public types compose the engine
///   Engine      Storage, Filtering, Security, Index,        the engine drives the layers below it
///               Distance, Internal
///   Security    Storage, Internal                           the key ring keeps its own SQLite file (SqliteDb helpers, StorageErrors)
///   Storage     Filtering, Index, Distance, Internal        SQL translation of filters, the arena feeds the index
///   Filtering   Internal                                    filter model, parser, SQL text
///   Index       Distance, Internal                          kernels; SlotBitmap is the Index's slot set
///   Distance    (nothing)                                   SIMD kernels
///   Internal    Distance                                    validation, logging, limits, permissions (Validation finds a
///                                                           non-finite float with the SIMD kernel)
/// </code>
/// No lower layer (everything but Api) references a type declared in the root namespace <c>EmbeddedChroma</c> of this
/// assembly, except the contract types the Abstractions package takes over (exceptions, results, Include, configuration,
/// filters, DistanceSpace) and the key-ring model types (<see cref="ApiKeyContext"/>, <see cref="ApiKeySpec"/> …),
/// which are public but belong to Security. Compiler-generated types (closures, state machines) count as their
/// declaring type. The matrix has no cycle (checked too).
/// </summary>
public sealed class LayeringTests
{
    private const string Root = "EmbeddedChroma";
    private const string Api = "Api";

    /// <summary>The allowed references of each lower layer (see the table above).</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Engine"] = ["Storage", "Filtering", "Security", "Index", "Distance", "Internal"],
        ["Security"] = ["Storage", "Internal"],
        ["Storage"] = ["Filtering", "Index", "Distance", "Internal"],
        ["Filtering"] = ["Internal"],
        ["Index"] = ["Distance", "Internal"],
        ["Distance"] = [],
        ["Internal"] = ["Distance"],
    };

    /// <summary>Root-namespace types the lower layers may use: the contract (moving to EmbeddedChroma.Abstractions) and the key-ring model.</summary>
    private static readonly HashSet<Type> RootTypesAllowedBelow =
    [
        typeof(Include), typeof(GetResult), typeof(QueryResult), typeof(CollectionConfiguration), typeof(CollectionConfigurationUpdate),
        typeof(CollectionInfo), typeof(DatabaseInfo), typeof(CollectionOptions), typeof(DistanceSpace), typeof(Where), typeof(WhereDocument), typeof(FilterValue), typeof(FilterValueKind),
        typeof(ApiKeyContext), typeof(ApiKeySpec), typeof(ApiKeyInfo), typeof(ApiKeyState), typeof(ApiKeyRateLimit), typeof(ApiKeyOutcome),
        typeof(ApiKeyUsage), typeof(ApiKeyUsageBucket), typeof(CreatedApiKey), typeof(AuditEntry), typeof(AuditVerification), typeof(ChromaActions), typeof(ApiKeyScanner),
        typeof(DetectedApiKey),
        .. typeof(ChromaStore).Assembly.GetTypes().Where(t => typeof(ChromaException).IsAssignableFrom(t)),
    ];

    private static Assembly Assembly => typeof(ChromaStore).Assembly;

    [Fact]
    public void Lower_layers_reference_no_public_api_type_of_the_assembly()
    {
        var violations = References()
            .Where(r => Layer(r.From) != Api && Layer(r.To) == Api && !RootTypesAllowedBelow.Contains(Outermost(r.To)))
            .Select(r => $"{Outermost(r.From).FullName} -> {Outermost(r.To).FullName} ({r.Via})")
            .Distinct().Order().ToList();

        string.Join('\n', violations).Should().BeEmpty("nothing below the public API may name a public-API type (ChromaStore, ChromaClient, Collection, ChromaStoreOptions, KeyRingClient …)");
    }

    [Fact]
    public void Lower_layers_reference_only_the_layers_the_matrix_allows()
    {
        var violations = References()
            .Where(r => Layer(r.From) is var from && from != Api && Layer(r.To) is var to && to != Api && to != from && !Allowed[from].Contains(to))
            .Select(r => $"{Layer(r.From)} -> {Layer(r.To)}: {Outermost(r.From).FullName} -> {Outermost(r.To).FullName} ({r.Via})")
            .Distinct().Order().ToList();

        string.Join('\n', violations).Should().BeEmpty();
    }

    [Fact]
    public void Matrix_has_no_cycle()
    {
        var state = new Dictionary<string, int>();
        bool Cyclic(string layer)
        {
            if (state.TryGetValue(layer, out var s))
            {
                return s == 1;
            }

            state[layer] = 1;
            var cyclic = Allowed[layer].Any(Cyclic);
            state[layer] = 2;
            return cyclic;
        }

        Allowed.Keys.Where(Cyclic).Should().BeEmpty();
    }

    [Fact]
    public void Collection_state_is_changed_only_from_the_engine()
    {
        var state = typeof(CollectionState);
        var setters = state.GetProperties().Select(p => p.SetMethod).OfType<MethodInfo>().Cast<MemberInfo>()
            .Concat(state.GetMethods().Where(m => m.Name == nameof(CollectionState.SetLive)))
            .Concat(state.GetFields())
            .ToHashSet();
        var violations = References()
            .Where(r => r.Member is not null && setters.Contains(r.Member) && r.Via.StartsWith("writes", StringComparison.Ordinal)
                && Layer(r.From) != "Engine" && Outermost(r.From) != state)
            .Select(r => $"{Outermost(r.From).FullName}: {r.Via}")
            .Distinct().ToList();

        violations.Should().BeEmpty("CollectionState changes go through the CollectionEngine of its collection");
    }

    [Fact]
    public void Scanner_finds_references_through_signatures_method_bodies_and_closures()
    {
        // The checks above can fail: the scanner sees what it must, including what only a method body or a lambda names.
        var references = References().ToList();
        references.Should().Contain(r => r.From == typeof(ChromaClient) && r.To == typeof(ChromaStore), "ChromaClient's Store property is a ChromaStore");
        references.Should().Contain(r => Outermost(r.From) == typeof(Catalog) && r.To == typeof(CollectionEngine) && r.Via.StartsWith("body", StringComparison.Ordinal));
        references.Should().Contain(r => r.From != Outermost(r.From) && Outermost(r.From) == typeof(Compactor), "a closure of Compactor counts as Compactor");
        references.Should().Contain(r => Outermost(r.From) == typeof(CollectionEngine) && r.Via.StartsWith("writes", StringComparison.Ordinal) && r.To == typeof(CollectionState));

        // And a reference that breaks the rule is reported: the Api layer, checked as if it were a lower one.
        references.Where(r => Layer(r.From) == Api && Layer(r.To) == Api && !RootTypesAllowedBelow.Contains(Outermost(r.To)) && r.To == typeof(ChromaStore))
            .Should().NotBeEmpty();
        Layer(typeof(HnswProbe)).Should().Be("Tests", "types of other assemblies are not layered");
    }

    private sealed class HnswProbe;

    /// <summary>The layer of a type of this assembly: Api for the root namespace, else the first namespace segment below it.</summary>
    private static string Layer(Type type)
    {
        var outer = Outermost(type);
        if (outer.Assembly != Assembly)
        {
            return "Tests";
        }

        var ns = outer.Namespace ?? "";
        if (ns == Root)
        {
            return Api;
        }

        if (!ns.StartsWith(Root + ".", StringComparison.Ordinal))
        {
            return "Generated"; // <PrivateImplementationDetails>, compiler-injected attributes
        }

        var rest = ns[(Root.Length + 1)..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? rest : rest[..dot];
    }

    /// <summary>The top-level type declaring <paramref name="type"/> (closures and state machines are nested types).</summary>
    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is { } outer)
        {
            type = outer;
        }

        return type;
    }

    private readonly record struct Reference(Type From, Type To, string Via, MemberInfo? Member = null);

    private static IEnumerable<Reference> References()
    {
        foreach (var type in Assembly.GetTypes())
        {
            var ns = Outermost(type).Namespace;
            if (ns is null || !(ns == Root || ns.StartsWith(Root + ".", StringComparison.Ordinal)))
            {
                continue; // compiler-injected attributes, <PrivateImplementationDetails>
            }

            foreach (var reference in ReferencesOf(type))
            {
                foreach (var to in Decompose(reference.To))
                {
                    if (to.Assembly == Assembly && !to.IsGenericParameter && Layer(to) != "Generated")
                    {
                        yield return reference with { To = to };
                    }
                }
            }
        }
    }

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static IEnumerable<Reference> ReferencesOf(Type type)
    {
        if (type.BaseType is { } baseType)
        {
            yield return new(type, baseType, "base type");
        }

        foreach (var face in type.GetInterfaces())
        {
            yield return new(type, face, "interface");
        }

        foreach (var field in type.GetFields(All))
        {
            yield return new(type, field.FieldType, $"field {field.Name}");
        }

        foreach (var property in type.GetProperties(All))
        {
            yield return new(type, property.PropertyType, $"property {property.Name}");
        }

        foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (method is MethodInfo info)
            {
                yield return new(type, info.ReturnType, $"{method.Name} returns");
            }

            foreach (var parameter in method.GetParameters())
            {
                yield return new(type, parameter.ParameterType, $"{method.Name} parameter {parameter.Name}");
            }

            MethodBody? body;
            try
            {
                body = method.GetMethodBody();
            }
            catch (InvalidOperationException)
            {
                continue;
            }

            if (body is null)
            {
                continue;
            }

            foreach (var local in body.LocalVariables)
            {
                yield return new(type, local.LocalType, $"{method.Name} local");
            }

            foreach (var member in Il.ReferencedMembers(method, body))
            {
                foreach (var reference in Targets(type, method, member))
                {
                    yield return reference;
                }
            }
        }
    }

    private static IEnumerable<Reference> Targets(Type from, MethodBase method, (MemberInfo Member, bool Writes) used)
    {
        var (member, writes) = used;
        var via = $"body of {method.Name}: {member.DeclaringType?.Name}.{member.Name}";
        switch (member)
        {
            case Type type:
                yield return new(from, type, via);
                break;
            case FieldInfo field:
                yield return new(from, field.DeclaringType!, writes ? "writes " + via : via, field);
                yield return new(from, field.FieldType, via);
                break;
            case MethodInfo called:
                var setter = called.IsSpecialName && called.Name.StartsWith("set_", StringComparison.Ordinal) || called.Name == nameof(CollectionState.SetLive);
                yield return new(from, called.DeclaringType!, setter ? "writes " + via : via, called.IsGenericMethod ? called.GetGenericMethodDefinition() : called);
                yield return new(from, called.ReturnType, via);
                foreach (var argument in called.IsGenericMethod ? called.GetGenericArguments() : [])
                {
                    yield return new(from, argument, via);
                }

                break;
            case ConstructorInfo constructor:
                yield return new(from, constructor.DeclaringType!, via);
                break;
        }
    }

    /// <summary>A type and everything it is built from (generic arguments, element types).</summary>
    private static IEnumerable<Type> Decompose(Type type)
    {
        if (type.HasElementType)
        {
            foreach (var inner in Decompose(type.GetElementType()!))
            {
                yield return inner;
            }

            yield break;
        }

        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            yield return type.GetGenericTypeDefinition();
            foreach (var argument in type.GetGenericArguments())
            {
                foreach (var inner in Decompose(argument))
                {
                    yield return inner;
                }
            }

            yield break;
        }

        yield return type;
    }

    /// <summary>A minimal IL reader: the members a method body's instructions name (metadata tokens resolved through its module).</summary>
    private static class Il
    {
        private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (OpCode)f.GetValue(null)!)
            .ToDictionary(o => o.Value);

        public static List<(MemberInfo Member, bool Writes)> ReferencedMembers(MethodBase method, MethodBody body)
        {
            var il = body.GetILAsByteArray() ?? [];
            var module = method.Module;
            var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
            var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
            var found = new List<(MemberInfo Member, bool Writes)>();
            for (var i = 0; i < il.Length;)
            {
                short value = il[i++];
                if (value == 0xFE)
                {
                    value = (short)(0xFE00 | il[i++]);
                }

                var code = OpCodesByValue[value];
                switch (code.OperandType)
                {
                    case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                        var token = BitConverter.ToInt32(il, i);
                        try
                        {
                            var member = module.ResolveMember(token, typeArguments, methodArguments);
                            if (member is not null)
                            {
                                found.Add((member, code == OpCodes.Stfld || code == OpCodes.Stsfld || code == OpCodes.Ldflda));
                            }
                        }
                        catch (ArgumentException)
                        {
                            // A token of another generic context: not one of ours to resolve.
                        }

                        i += 4;
                        break;
                    case OperandType.InlineSwitch:
                        i += 4 + (4 * BitConverter.ToInt32(il, i));
                        break;
                    default:
                        i += Size(code.OperandType);
                        break;
                }
            }

            return found;
        }

        private static int Size(OperandType operand) => operand switch
        {
            OperandType.InlineNone => 0,
            OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
            OperandType.InlineVar => 2,
            OperandType.InlineI8 or OperandType.InlineR => 8,
            _ => 4,
        };
    }
}
