using System.Reflection;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma.Tests.Security;

/// <summary>
/// Every public instance method of the gated types is invoked, by reflection, through a revoked key and through
/// a closed store: none may get past the gate. A new public method whose parameters the argument table cannot
/// supply fails the test, so a new entry point cannot slip through unchecked.
/// </summary>
public sealed class GatedEntryPointTests : IDisposable
{
    private static readonly Type[] GatedTypes = [typeof(ChromaClient), typeof(Collection), typeof(KeyRingClient)];

    /// <summary>Exempt methods: object's own (no state, no store access).</summary>
    private static readonly HashSet<string> ExemptMethods = ["ToString", "Equals", "GetHashCode", "GetType"];

    /// <summary>Exempt property getters: each returns a field captured at creation, touching neither the store nor the key ring.</summary>
    private static readonly Dictionary<Type, string[]> ExemptProperties = new()
    {
        [typeof(ChromaClient)] = ["Context", "Tenant", "Database"],
        [typeof(Collection)] = ["Id", "Name", "Tenant", "Database", "Metadata", "Configuration", "Dimension", "EmbeddingGenerator"],
        [typeof(KeyRingClient)] = ["Context"],
    };

    /// <summary>Plausible (valid) arguments per parameter type, so that only the gate can refuse a call.</summary>
    private static readonly Dictionary<Type, Func<object?>> Arguments = new()
    {
        [typeof(string)] = () => "probe_name",
        [typeof(Guid)] = () => Guid.NewGuid(),
        [typeof(int)] = () => 1,
        [typeof(int?)] = () => 1,
        [typeof(long)] = () => 0L,
        [typeof(TimeSpan)] = () => TimeSpan.FromMinutes(1),
        [typeof(DateTimeOffset)] = () => DateTimeOffset.MinValue,
        [typeof(CancellationToken)] = () => CancellationToken.None,
        [typeof(IProgress<ChromaProgress>)] = () => null,
        [typeof(Include)] = () => Include.Metadatas,
        [typeof(IReadOnlyList<string>)] = () => new[] { "a" },
        [typeof(IReadOnlyList<float[]>)] = () => new[] { new[] { 1f, 2f } },
        [typeof(IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>)] = () => new IReadOnlyDictionary<string, MetadataValue?>?[] { new Dictionary<string, MetadataValue?> { ["k"] = 1L } },
        [typeof(IReadOnlyDictionary<string, MetadataValue?>)] = () => new Dictionary<string, MetadataValue?> { ["k"] = "v" },
        [typeof(Where)] = () => null,
        [typeof(WhereDocument)] = () => null,
        [typeof(CollectionOptions)] = () => new CollectionOptions(),
        [typeof(CollectionConfigurationUpdate)] = () => new CollectionConfigurationUpdate { EfSearch = 50 },
        [typeof(IEmbeddingGenerator<string, Embedding<float>>)] = () => null,
        [typeof(ApiKeySpec)] = () => new ApiKeySpec { Name = "probe", Actions = [ChromaActions.Count] },
        [typeof(IReadOnlyList<AuditEntry>)] = () => Array.Empty<AuditEntry>(),
        [typeof(RecordBatch)] = () => new RecordBatch { Ids = ["n"], Embeddings = [[1f, 2f]] },
        [typeof(GetRequest)] = () => new GetRequest(),
        [typeof(QueryRequest)] = () => new QueryRequest { QueryEmbeddings = [[1f, 2f]] },
        [typeof(DeleteRequest)] = () => new DeleteRequest { Ids = ["a"] },
        [typeof(CollectionModification)] = () => new CollectionModification { Configuration = new CollectionConfigurationUpdate { EfSearch = 50 } },
    };

    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    private sealed record Targets(ChromaClient Client, Collection Collection, KeyRingClient Ring)
    {
        public object For(Type type) => type == typeof(ChromaClient) ? Client : type == typeof(Collection) ? Collection : Ring;
    }

    private static IEnumerable<MethodInfo> EntryPoints(Type type) =>
        type.GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => !m.IsSpecialName && !ExemptMethods.Contains(m.Name))
            .OrderBy(m => m.Name, StringComparer.Ordinal).ThenBy(m => m.GetParameters().Length);

    private Targets TargetsOf(ApiKeyContext context)
    {
        var collection = _h.Store.GetClient(context).GetCollection("test", new TestUtilities.DeterministicEmbeddingGenerator());
        return new Targets(_h.Store.GetClient(context), collection, _h.Store.GetKeyRing(context));
    }

    private static object?[] ArgumentsFor(MethodInfo method)
    {
        var parameters = method.GetParameters();
        var missing = parameters.Where(p => !Arguments.ContainsKey(p.ParameterType)).ToList();
        missing.Should().BeEmpty($"{method.DeclaringType!.Name}.{method.Name} is a new entry point: add its parameter types to the argument table so the gate test covers it");
        return parameters.Select(p => Arguments[p.ParameterType]()).ToArray();
    }

    private static async Task<Exception?> InvokeAsync(object target, MethodInfo method)
    {
        try
        {
            var result = method.Invoke(target, ArgumentsFor(method));
            if (result is Task task)
            {
                await task;
            }

            return null;
        }
        catch (TargetInvocationException ex)
        {
            return ex.InnerException;
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            return ex;
        }
    }

    private static async Task ShouldAllThrow<TException>(Targets targets)
        where TException : Exception
    {
        var invoked = new List<string>();
        foreach (var type in GatedTypes)
        {
            foreach (var method in EntryPoints(type))
            {
                var name = $"{type.Name}.{method.Name}({string.Join(", ", method.GetParameters().Select(p => p.ParameterType.Name))})";
                var error = await InvokeAsync(targets.For(type), method);
                error.Should().BeOfType<TException>($"{name} must be refused by the gate");
                invoked.Add(name);
            }
        }

        invoked.Should().Contain(n => n.StartsWith("ChromaClient.Heartbeat", StringComparison.Ordinal));
        invoked.Should().HaveCountGreaterThan(35);
    }

    [Fact]
    public async Task Every_public_method_throws_authentication_when_key_was_revoked()
    {
        _h.Fx.CreateCollection("test").Add(["a"], [[1f, 2f]]);
        var key = _h.Mint([ChromaActions.AllData, ChromaActions.AllKeyRing]);
        var targets = TargetsOf(_h.Login(key));

        _h.AdminRing.RevokeKey(key.Info.KeyId);

        await ShouldAllThrow<ChromaAuthenticationException>(targets);
        _h.Fx.Client.GetCollection("test").Get().Ids.Should().Equal("a");
        _h.Fx.Client.ListTenants().Should().NotContain("probe_name");
        _h.Fx.Client.ListCollections().Select(c => c.Name).Should().Equal("test");
    }

    [Fact]
    public async Task Every_public_method_throws_store_closed_when_store_was_disposed()
    {
        _h.Fx.CreateCollection("test").Add(["a"], [[1f, 2f]]);
        var targets = TargetsOf(_h.AdminContext);

        _h.Fx.Close();

        await ShouldAllThrow<ChromaStoreClosedException>(targets);
    }

    [Fact]
    public void Public_properties_are_only_the_listed_pure_getters_when_types_are_inspected()
    {
        foreach (var type in GatedTypes)
        {
            var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name);
            properties.Should().BeEquivalentTo(ExemptProperties[type], $"a new public property of {type.Name} must be reviewed for a gate and listed");
            type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Should().OnlyContain(p => p.SetMethod == null || !p.SetMethod.IsPublic);
        }
    }

    [Fact]
    public void Pure_getters_do_not_touch_the_key_when_key_was_revoked()
    {
        _h.Fx.CreateCollection("test");
        var key = _h.Mint([ChromaActions.AllData, ChromaActions.AllKeyRing]);
        var targets = TargetsOf(_h.Login(key));
        _h.AdminRing.RevokeKey(key.Info.KeyId);

        foreach (var type in GatedTypes)
        {
            foreach (var name in ExemptProperties[type])
            {
                var read = () => type.GetProperty(name)!.GetValue(targets.For(type));
                read.Should().NotThrow($"{type.Name}.{name} is a pure getter");
            }
        }
    }

    [Fact]
    public void Every_property_value_stays_as_it_was_when_the_key_was_revoked_and_the_store_changed_after()
    {
        _h.Fx.CreateCollection("test");
        var key = _h.Mint([ChromaActions.AllData, ChromaActions.AllKeyRing]);
        var targets = TargetsOf(_h.Login(key));
        object? Read(Type type, string name) => type.GetProperty(name)!.GetValue(targets.For(type));
        var before = GatedTypes.SelectMany(t => ExemptProperties[t].Select(n => (t, n, Read(t, n)))).ToList();
        _h.AdminRing.RevokeKey(key.Info.KeyId);

        var admin = _h.Fx.Client.GetCollection("test");
        admin.Add(["a"], [[1f, 2f]]);
        admin.Modify(name: "test-renamed", metadata: new Dictionary<string, MetadataValue?> { ["after"] = "revocation" }, configuration: new CollectionConfigurationUpdate { EfSearch = 33 });

        foreach (var (type, name, value) in before)
        {
            Read(type, name).Should().BeEquivalentTo(value, $"{type.Name}.{name} must show nothing of the store newer than the key's last allowed call");
        }
    }
}
