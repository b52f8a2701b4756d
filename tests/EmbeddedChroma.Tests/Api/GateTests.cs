using EmbeddedChroma.Security;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

public sealed class GateTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private sealed record Handles(ChromaStore Store, string Key, ApiKeyContext Context, ChromaClient Client, Collection Collection);

    private static readonly Dictionary<string, Func<Handles, Task>> Calls = new()
    {
        ["Store.Authenticate"] = h => Run(() => h.Store.Authenticate(h.Key)),
        ["Store.AuthenticateHeader"] = h => Run(() => h.Store.AuthenticateHeader("Bearer " + h.Key)),
        ["Store.GetClient(key)"] = h => Run(() => h.Store.GetClient(h.Key)),
        ["Store.GetClient(context)"] = h => Run(() => h.Store.GetClient(h.Context)),
        ["Client.Heartbeat"] = h => Run(() => h.Client.Heartbeat()),
        ["Client.WithDatabase"] = h => Run(() => h.Client.WithDatabase("default_database")),
        ["Client.CreateTenant"] = h => Run(() => h.Client.CreateTenant("newtenant")),
        ["Client.GetTenant"] = h => Run(() => h.Client.GetTenant("default_tenant")),
        ["Client.ListTenants"] = h => Run(() => h.Client.ListTenants()),
        ["Client.DeleteTenant"] = h => Run(() => h.Client.DeleteTenant("spare_tenant")),
        ["Client.CreateDatabase"] = h => Run(() => h.Client.CreateDatabase("newdb")),
        ["Client.GetDatabase"] = h => Run(() => h.Client.GetDatabase("default_database")),
        ["Client.ListDatabases"] = h => Run(() => h.Client.ListDatabases()),
        ["Client.DeleteDatabase"] = h => Run(() => h.Client.DeleteDatabase("spare_db")),
        ["Client.CreateCollection"] = h => Run(() => h.Client.CreateCollection("newcoll")),
        ["Client.GetOrCreateCollection"] = h => Run(() => h.Client.GetOrCreateCollection("test")),
        ["Client.GetCollection"] = h => Run(() => h.Client.GetCollection("test")),
        ["Client.ListCollections"] = h => Run(() => h.Client.ListCollections()),
        ["Client.CountCollections"] = h => Run(() => h.Client.CountCollections()),
        ["Client.DeleteCollection"] = h => Run(() => h.Client.DeleteCollection("test")),
        ["Collection.Count"] = h => Run(() => h.Collection.Count()),
        ["Collection.Add"] = h => Run(() => h.Collection.Add(["n"], [[1f, 2f]])),
        ["Collection.Upsert"] = h => Run(() => h.Collection.Upsert(["a"], [[1f, 2f]])),
        ["Collection.Update"] = h => Run(() => h.Collection.Update(["a"], [[1f, 2f]])),
        ["Collection.Delete"] = h => Run(() => h.Collection.Delete(["a"])),
        ["Collection.Get"] = h => Run(() => h.Collection.Get()),
        ["Collection.Peek"] = h => Run(() => h.Collection.Peek()),
        ["Collection.Query"] = h => Run(() => h.Collection.Query([[1f, 2f]])),
        ["Collection.Modify"] = h => Run(() => h.Collection.Modify(name: "renamed")),
        ["Collection.AddAsync"] = h => h.Collection.AddAsync(["n"], documents: ["cat"]),
        ["Collection.UpsertAsync"] = h => h.Collection.UpsertAsync(["n"], documents: ["cat"]),
        ["Collection.UpdateAsync"] = h => h.Collection.UpdateAsync(["a"], documents: ["dog"]),
        ["Collection.QueryAsync"] = h => h.Collection.QueryTextsAsync(["cat"]),
    };

    private static Task Run(Action action)
    {
        action();
        return Task.CompletedTask;
    }

    public static TheoryData<string> CallNames => new(Calls.Keys);

    [Theory]
    [MemberData(nameof(CallNames))]
    public async Task Call_throws_store_closed_when_store_was_disposed(string call)
    {
        _fx.Client.CreateTenant("spare_tenant");
        _fx.Client.CreateDatabase("spare_db");
        var collection = _fx.CreateCollection(generator: new DeterministicEmbeddingGenerator());
        collection.Add(["a"], [[1f, 2f]]);
        var handles = new Handles(_fx.Store, _fx.AdminKey, _fx.Store.Authenticate(_fx.AdminKey), _fx.Client, collection);

        _fx.Close();

        var act = () => Calls[call](handles);
        (await act.Should().ThrowAsync<ChromaStoreClosedException>()).WithMessage($"*{_fx.Folder}*closed*");
    }

    [Fact]
    public void Dispose_is_idempotent_when_called_twice()
    {
        _fx.Close();

        _fx.Store.Dispose();

        var act = () => _fx.Client.ListCollections();
        act.Should().Throw<ChromaStoreClosedException>();
    }

    [Fact]
    public void GetClient_succeeds_when_key_is_the_admin_key()
    {
        var client = _fx.Store.GetClient(_fx.AdminKey);

        client.ListCollections().Should().BeEmpty();
        client.Heartbeat().Should().BePositive();
        _fx.Store.Authenticate(_fx.AdminKey).KeyId.Should().NotBeNullOrEmpty();
    }

    public static TheoryData<string> MalformedKeys => new(
        "",
        " ",
        "abc",
        "eck_",
        "Bearer x",
        "eck_123456789012_",
        new string('a', 65),
        new string('x', 10_000));

    [Theory]
    [MemberData(nameof(MalformedKeys))]
    public void GetClient_throws_authentication_when_key_is_malformed(string key)
    {
        var act = () => _fx.Store.GetClient(key);

        act.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void Authenticate_throws_authentication_when_key_is_null()
    {
        var act = () => _fx.Store.Authenticate(null!);

        act.Should().Throw<ChromaAuthenticationException>();
    }

    private string[] WrongKeys()
    {
        var admin = _fx.AdminKey;
        var keyId = admin.Substring(ApiKeyFormat.Prefix.Length, ApiKeyFormat.KeyIdLength);
        var lastChar = admin[^1] == '0' ? '1' : '0';
        var secretChar = admin[20] == 'A' ? 'B' : 'A';
        return
        [
            admin[..^1] + lastChar,                                        // checksum mismatch
            admin[..20] + secretChar + admin[21..],                        // one secret character changed
            ApiKeyFormat.Create(ApiKeyFormat.NewKeyId()),                  // well-formed, unknown key id
            ApiKeyFormat.Create(keyId),                                    // well-formed, right key id, wrong secret
            admin.ToUpperInvariant(),                                      // case matters
            " " + admin,                                                   // surrounding whitespace is not trimmed
            admin + " ",
            admin[..^1],                                                   // truncated
            admin + "0",                                                   // too long
        ];
    }

    [Fact]
    public void GetClient_throws_authentication_with_one_message_when_key_is_wrong()
    {
        var messages = new List<string>();
        foreach (var key in WrongKeys())
        {
            if (key == _fx.AdminKey)
            {
                continue;
            }

            var act = () => _fx.Store.GetClient(key);

            var error = act.Should().Throw<ChromaAuthenticationException>($"key variant '{key}'").Which;
            error.Message.Should().NotContain(key.Trim());
            messages.Add(error.Message);
        }

        messages.Should().HaveCountGreaterThan(5);
        messages.Distinct().Should().ContainSingle("every authentication failure has the same public message");
    }

    [Fact]
    public void AuthenticateHeader_accepts_bearer_scheme_in_any_case()
    {
        _fx.Store.AuthenticateHeader("Bearer " + _fx.AdminKey).KeyId.Should().NotBeNullOrEmpty();
        _fx.Store.AuthenticateHeader("bearer " + _fx.AdminKey).KeyId.Should().NotBeNullOrEmpty();
        _fx.Store.AuthenticateHeader("BEARER " + _fx.AdminKey).KeyId.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void AuthenticateHeader_throws_authentication_when_header_is_malformed_or_key_is_wrong()
    {
        var key = _fx.AdminKey;
        string[] headers =
        [
            "",
            key,
            "Basic " + key,
            "Bearer",
            "Bearer ",
            "Bearer " + key[..^1] + (key[^1] == '0' ? '1' : '0'),
            "Bearer " + new string('k', ChromaStore.MaxHeaderLength),
        ];

        foreach (var header in headers)
        {
            var act = () => _fx.Store.AuthenticateHeader(header);

            act.Should().Throw<ChromaAuthenticationException>($"header '{header[..Math.Min(header.Length, 40)]}'");
        }

        var nullHeader = () => _fx.Store.AuthenticateHeader(null!);
        nullHeader.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void RecoverAdminKey_revokes_the_old_admin_key_and_returns_a_working_new_one()
    {
        _fx.CreateCollection().Add(["a"], [[1f]]);
        var oldKey = _fx.AdminKey;

        var newKey = _fx.RecoverAdminKey();

        newKey.Should().NotBe(oldKey).And.StartWith("eck_");
        var oldClient = () => _fx.Store.GetClient(oldKey);
        oldClient.Should().Throw<ChromaAuthenticationException>();
        var oldHeader = () => _fx.Store.AuthenticateHeader("Bearer " + oldKey);
        oldHeader.Should().Throw<ChromaAuthenticationException>();
        _fx.Store.GetClient(newKey).GetCollection("test").Get().Ids.Should().Equal("a");
    }

    [Fact]
    public void RecoverAdminKey_keeps_the_keys_issued_under_the_old_admin_key_working()
    {
        _fx.CreateCollection().Add(["a"], [[1f]]);
        var issued = _fx.Store.GetKeyRing(_fx.Store.Authenticate(_fx.AdminKey)).CreateKey(new ApiKeySpec
        {
            Name = "reader", Actions = [ChromaActions.Get], Resources = ["default_tenant/default_database/test"],
        });

        var newKey = _fx.RecoverAdminKey();

        _fx.Store.GetClient(issued.Key).GetCollection("test").Get().Ids.Should().Equal("a");
        var ring = _fx.Store.GetKeyRing(_fx.Store.Authenticate(newKey));
        ring.GetKey(issued.Info.KeyId).State.Should().Be(ApiKeyState.Active, "the new admin key took the old one's place above it");
        ring.RevokeKey(issued.Info.KeyId);
        var revoked = () => _fx.Store.GetClient(issued.Key).GetCollection("test").Get();
        revoked.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void RecoverAdminKey_revokes_every_earlier_key_when_run_twice()
    {
        var first = _fx.AdminKey;
        var second = _fx.RecoverAdminKey();

        var third = _fx.RecoverAdminKey();

        foreach (var revoked in new[] { first, second })
        {
            var act = () => _fx.Store.GetClient(revoked);
            act.Should().Throw<ChromaAuthenticationException>();
        }

        _fx.Store.GetClient(third).ListCollections().Should().BeEmpty();
    }

    [Fact]
    public void RecoverAdminKey_throws_locked_when_store_is_open()
    {
        var act = () => ChromaStore.RecoverAdminKey(_fx.Folder);

        act.Should().Throw<ChromaStoreLockedException>();
        _fx.Store.GetClient(_fx.AdminKey).ListCollections().Should().BeEmpty();
    }

    [Fact]
    public void Create_returns_a_key_that_still_works_when_store_is_reopened()
    {
        _fx.Reopen();

        _fx.Store.GetClient(_fx.AdminKey).ListTenants().Should().Contain("default_tenant");
    }

    [Fact]
    public void ApiKeyContext_text_never_contains_the_secret()
    {
        var context = _fx.Store.Authenticate(_fx.AdminKey);
        var secret = _fx.AdminKey[(ApiKeyFormat.Prefix.Length + ApiKeyFormat.KeyIdLength + 1)..];

        context.ToString().Should().NotContain(secret);
        _fx.Client.ToString().Should().NotContain(secret);
        ShouldNotLeak(secret);
    }

    private void ShouldNotLeak(string secret)
    {
        var c = _fx.CreateCollection();
        var act = () => c.Add(["a", "a"], [[1f], [1f]]);
        act.Should().Throw<ChromaValidationException>().Which.Message.Should().NotContain(secret);
    }
}
