using EmbeddedChroma.Security;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Security;

/// <summary>
/// A store on a <see cref="ManualTimeProvider"/> with helpers to mint keys as the admin. Layout made by
/// <see cref="SeedTenants"/>: tenants <c>acme</c> and <c>beta</c>, databases <c>acme/db1</c>, <c>acme/db2</c>,
/// <c>beta/db1</c>, collections <c>acme/db1/coll</c> (record "a", dimension 2), <c>acme/db1/other</c>,
/// <c>acme/db2/coll</c>, <c>beta/db1/coll</c>.
/// </summary>
public sealed class KeyRingHarness : IDisposable
{
    public KeyRingHarness()
    {
        Clock = new ManualTimeProvider();
        Fx = new StoreFixture(new ChromaStoreOptions { TimeProvider = Clock });
        AdminContext = Store.Authenticate(Fx.AdminKey);
        AdminRing = Store.GetKeyRing(AdminContext);
    }

    public ManualTimeProvider Clock { get; }

    public StoreFixture Fx { get; }

    public ChromaStore Store => Fx.Store;

    public string AdminKey => Fx.AdminKey;

    public ApiKeyContext AdminContext { get; }

    public KeyRingClient AdminRing { get; }

    public void SeedTenants()
    {
        var admin = Store.GetClient(AdminContext);
        admin.CreateTenant("acme");
        admin.CreateTenant("beta");
        admin.CreateDatabase("db1", "acme");
        admin.CreateDatabase("db2", "acme");
        admin.CreateDatabase("db1", "beta");
        var acme1 = Store.GetClient(AdminContext, "acme", "db1");
        acme1.CreateCollection("coll").Add(["a"], [[1f, 2f]], documents: ["alpha"]);
        acme1.CreateCollection("other");
        Store.GetClient(AdminContext, "acme", "db2").CreateCollection("coll");
        Store.GetClient(AdminContext, "beta", "db1").CreateCollection("coll");
    }

    /// <summary>The admin mints a key.</summary>
    public CreatedApiKey Mint(string[] actions, string[]? resources = null, DateTimeOffset? expires = null, ApiKeyRateLimit? rate = null, long? maxUses = null, string name = "test key") =>
        AdminRing.CreateKey(new ApiKeySpec
        {
            Name = name,
            Actions = actions,
            Resources = resources ?? ["*"],
            ExpiresAt = expires,
            RateLimit = rate,
            MaxUses = maxUses,
        });

    public ApiKeyContext Login(CreatedApiKey key) => Store.Authenticate(key.Key);

    /// <summary>The secret part of a key's text.</summary>
    public static string SecretOf(string key) => key.Substring(ApiKeyFormat.Prefix.Length + ApiKeyFormat.KeyIdLength + 1, ApiKeyFormat.SecretLength);

    /// <summary>The key id part of a key's text.</summary>
    public static string KeyIdOf(string key) => key.Substring(ApiKeyFormat.Prefix.Length, ApiKeyFormat.KeyIdLength);

    public void Dispose() => Fx.Dispose();
}
